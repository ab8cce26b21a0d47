#include "hub/digest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace inferline::hub {
namespace {

std::filesystem::path WriteTemp(const std::string& name, const std::string& content) {
  auto p = std::filesystem::temp_directory_path() /
           ("inferline_digest_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

TEST(DigestTest, Sha256OfKnownVectors) {
  Digest d;
  EXPECT_EQ(d.FinishHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  d.Reset();
  d.Update("ab");
  d.Update("c");
  EXPECT_EQ(d.FinishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, GitBlobIdMatchesGit) {
  // `printf 'hello\n' | git hash-object --stdin`
  auto p = WriteTemp("blob", "hello\n");
  auto id = GitBlobIdOfFile(p);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "ce013625030ba8dba906f756967f9e9ca394464a");
  std::filesystem::remove(p);
}

TEST(DigestTest, FilePrefixThenRestEqualsWholeFile) {
  std::string content(300'000, 'x');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
  auto p = WriteTemp("prefix", content);
  Digest d;
  ASSERT_TRUE(HashFilePrefix(p, 1000, d).ok());
  d.Update(std::string_view(content).substr(1000));
  auto whole = Sha256OfFile(p);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(d.FinishHex(), *whole);
  Digest too_long;
  EXPECT_FALSE(HashFilePrefix(p, content.size() + 1, too_long).ok());
  std::filesystem::remove(p);
  EXPECT_EQ(Sha256OfFile(p).status().code(), StatusCode::kNotFound);
}

TEST(DigestTest, NormalizeEtag) {
  EXPECT_EQ(NormalizeEtag("\"ABC\""), "abc");
  EXPECT_EQ(NormalizeEtag("W/\"abc\""), "abc");
  EXPECT_EQ(NormalizeEtag("abc"), "abc");
  EXPECT_TRUE(IsHexDigest("0123456789abcdefABCDEF0123456789abcdef01", 40));
  EXPECT_FALSE(IsHexDigest("0123456789abcdefABCDEF0123456789abcdef0g", 40));
  EXPECT_FALSE(IsHexDigest("abc", 40));
}

}  // namespace
}  // namespace inferline::hub
