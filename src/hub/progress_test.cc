#include "hub/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace inferline::hub {
namespace {

TEST(ProgressFormatTest, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(999), "999 B");
  EXPECT_EQ(FormatBytes(1500), "1.50 KB");
  EXPECT_EQ(FormatBytes(52'100'000), "52.1 MB");
  EXPECT_EQ(FormatBytes(269'060'000), "269 MB");
  EXPECT_EQ(FormatBytes(2'200'000'000), "2.20 GB");
}

TEST(ProgressFormatTest, Eta) {
  EXPECT_EQ(FormatEta(7.2), "0:07");
  EXPECT_EQ(FormatEta(754), "12:34");
  EXPECT_EQ(FormatEta(3723), "1:02:03");
  EXPECT_EQ(FormatEta(-1), "--:--");
  EXPECT_EQ(FormatEta(1e12), "--:--");
}

TEST(ProgressFormatTest, BarFitsTheWidthAndShowsTheNumbers) {
  ProgressSnapshot s{"model.safetensors", 1'200'000'000, 2'700'000'000, 52'100'000};
  std::string bar = FormatBar(s, 100);
  EXPECT_LE(bar.size(), 100u);
  EXPECT_NE(bar.find("model.safetensors"), std::string::npos);
  EXPECT_NE(bar.find(" 44%"), std::string::npos);
  EXPECT_NE(bar.find("1.20 GB / 2.70 GB"), std::string::npos);
  EXPECT_NE(bar.find("52.1 MB/s"), std::string::npos);
  EXPECT_NE(bar.find("ETA 0:29"), std::string::npos);
  EXPECT_NE(bar.find("|#"), std::string::npos);

  std::string narrow = FormatBar({"a-very-long-folder/model-00001-of-00004.safetensors", 1, 2, 0},
                                 50);
  EXPECT_LE(narrow.size(), 50u);
  EXPECT_NE(narrow.find("50%"), std::string::npos);

  // Short names are shown whole on an 80-column terminal.
  std::string small = FormatBar({"generation_config.json", 38, 38, 0}, 79);
  EXPECT_NE(small.find("generation_config.json 100% |#"), std::string::npos) << small;
  EXPECT_NE(small.find("ETA 0:00"), std::string::npos) << small;

  std::string unknown = FormatBar({"x", 5000, 0, 0}, 80);
  EXPECT_NE(unknown.find("?%"), std::string::npos);
  EXPECT_NE(unknown.find("--:--"), std::string::npos);
}

TEST(ProgressFormatTest, Line) {
  EXPECT_EQ(FormatLine({"m.safetensors", 1'200'000'000, 2'700'000'000, 52'100'000}),
            "m.safetensors: 44% (1.20 GB of 2.70 GB) at 52.1 MB/s, ETA 0:29");
  EXPECT_EQ(FormatLine({"x", 5000, 0, 0}), "x: 5.00 KB at -- MB/s");
}

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ConsoleProgressTest, PlainLinesArePeriodic) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  auto now = t0;
  ConsoleProgress p(f, ConsoleProgress::Style::kLines, [&] { return now; },
                    std::chrono::seconds(5));
  p.FileStarted("w.safetensors", 10'000'000, 0);
  now += std::chrono::seconds(1);
  p.FileAdvanced(2'000'000);  // too soon for a line
  now += std::chrono::seconds(5);
  p.FileAdvanced(6'000'000);
  now += std::chrono::seconds(2);
  p.FileFinished("w.safetensors", 10'000'000, false);
  p.FileFinished("config.json", 500, true);
  p.Note("retrying");
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_EQ(out,
            "w.safetensors: downloading (10.0 MB)\n"
            "w.safetensors: 60% (6.00 MB of 10.0 MB) at 1.0 MB/s, ETA 0:04\n"
            "w.safetensors: done, 10.0 MB in 8.0 s\n"
            "config.json: already complete (500 B)\n"
            "retrying\n");
}

TEST(ConsoleProgressTest, BarRedrawsInPlaceAndQuietPrintsNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  ConsoleProgress p(f, ConsoleProgress::Style::kBar, [&] { return now; });
  p.FileStarted("w", 1000, 0);
  now += std::chrono::seconds(1);
  p.FileAdvanced(500);
  p.Note("a note");
  p.FileFinished("w", 1000, false);
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_NE(out.find("\r"), std::string::npos);
  EXPECT_NE(out.find("\na note\n"), std::string::npos);  // the bar line is ended first
  EXPECT_NE(out.find("100%"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');

  std::FILE* q = std::tmpfile();
  ConsoleProgress quiet(q, ConsoleProgress::Style::kQuiet);
  quiet.FileStarted("w", 1000, 0);
  quiet.FileAdvanced(500);
  quiet.FileFinished("w", 1000, false);
  EXPECT_EQ(ReadAll(q), "");
  std::fclose(q);
}

}  // namespace
}  // namespace inferline::hub
