#include "hub/part_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace inferline::hub {
namespace {

TEST(PartFileTest, AppendsTruncatesAndReportsTheSize) {
  auto p = std::filesystem::temp_directory_path() /
           ("inferline_part_" + std::to_string(::getpid()) + ".incomplete");
  std::filesystem::remove(p);
  EXPECT_EQ(FileSizeOrZero(p), 0u);
  {
    auto f = PartFile::Open(p);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE(f->Append("hello ").ok());
    ASSERT_TRUE(f->Close().ok());
  }
  {
    auto f = PartFile::Open(p);  // appends to what is there
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Append("world").ok());
  }
  EXPECT_EQ(FileSizeOrZero(p), 11u);
  {
    auto f = PartFile::Open(p);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Truncate().ok());
    ASSERT_TRUE(f->Append("again").ok());
  }
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "again");
  std::filesystem::remove(p);
}

TEST(PartFileTest, FullDiskIsReportedAsSuch) {
  if (!std::filesystem::exists("/dev/full")) GTEST_FAIL() << "/dev/full is missing";
  auto f = PartFile::Open("/dev/full");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Status st = f->Append(std::string(1 << 16, 'x'));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("disk full"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("resume"), std::string::npos);
}

TEST(PartFileTest, UncreatableFileIsAnError) {
  auto f = PartFile::Open("/nonexistent-dir/x/y.incomplete");
  EXPECT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("cannot create"), std::string::npos);
}

}  // namespace
}  // namespace inferline::hub
