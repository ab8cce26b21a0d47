#include "http/sse_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "http/sse_writer.h"

namespace inferline::http {
namespace {

std::vector<SseEvent> ParseAll(std::string_view stream) {
  SseParser parser;
  std::vector<SseEvent> events;
  EXPECT_TRUE(parser.Feed(stream, &events).ok());
  return events;
}

// Feeds `stream` cut at each of `cuts` (sorted byte offsets).
std::vector<SseEvent> ParseCut(std::string_view stream, const std::vector<size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> events;
  size_t from = 0;
  for (size_t cut : cuts) {
    EXPECT_TRUE(parser.Feed(stream.substr(from, cut - from), &events).ok());
    from = cut;
  }
  EXPECT_TRUE(parser.Feed(stream.substr(from), &events).ok());
  return events;
}

TEST(SseParserTest, ParsesFieldsAndJoinsDataLines) {
  auto events = ParseAll(
      ": a comment\n"
      "event: token\n"
      "id: 7\n"
      "data: first\n"
      "data:second\n"
      "data\n"
      "unknown: ignored\n"
      "retry: 100\n"
      "\n"
      "data: {\"x\":1}\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (SseEvent{"token", "first\nsecond\n", "7"}));
  // The id carries over to later events; the event type does not.
  EXPECT_EQ(events[1], (SseEvent{"", "{\"x\":1}", "7"}));
}

TEST(SseParserTest, AcceptsEveryLineEnding) {
  auto events = ParseAll("data: a\r\n\r\ndata: b\r\rdata: c\n\ndata:  d\r\n\n");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "b");
  EXPECT_EQ(events[2].data, "c");
  EXPECT_EQ(events[3].data, " d");  // only one space after the colon is dropped
}

TEST(SseParserTest, EventsWithoutDataAndUnfinishedEventsAreNotDispatched) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("event: ping\n\n: keep-alive\n\ndata: cut sh", &events).ok());
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(parser.partial());
  ASSERT_TRUE(parser.Feed("ort\n\n", &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "cut short");
  EXPECT_FALSE(parser.partial());
}

TEST(SseParserTest, SkipsAByteOrderMarkOnlyAtTheStart) {
  auto events = ParseCut("\xEF\xBB\xBF" "data: x\n\n\xEF\xBB\xBF" "data: y\n\n", {1, 2});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");  // the second BOM makes the field name unknown
  // Bytes that only begin like a BOM are content.
  auto plain = ParseCut("\xEF" "data: z\n\n", {1});
  EXPECT_TRUE(plain.empty());
  auto short_stream = ParseCut("da", {1});
  EXPECT_TRUE(short_stream.empty());
  EXPECT_EQ(ParseCut("data: q\n\n", {1, 2}).at(0).data, "q");
}

TEST(SseParserTest, ReadsWhatSseWriterWrites) {
  std::string stream = SseWriter::Format("token", "3", "line one\nline two", std::nullopt) +
                       SseWriter::FormatComment("keep-alive") +
                       SseWriter::Format({}, {}, "[DONE]", std::chrono::milliseconds(500));
  auto events = ParseAll(stream);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (SseEvent{"token", "line one\nline two", "3"}));
  EXPECT_EQ(events[1], (SseEvent{"", "[DONE]", "3"}));
}

TEST(SseParserTest, AnOversizedEventIsAnError) {
  SseParser parser(64);
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("data: short\n\n", &events).ok());
  Status st = parser.Feed("data: " + std::string(100, 'x'), &events);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(parser.Feed("\n\n", &events).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(events.size(), 1u);
}

// A stream with every feature, built from a fixed seed: OpenAI-style chunks, comments,
// multi-line data, ids, every line ending.
std::string MixedStream() {
  std::mt19937 rng(42);
  const char* endings[] = {"\n", "\r\n", "\r"};
  std::string last;
  // A CR followed by an LF would be one line end, not two: never write that pair.
  auto eol = [&] {
    std::string e = endings[rng() % 3];
    if (last == "\r" && e == "\n") e = "\r";
    last = e;
    return e;
  };
  std::string s = "\xEF\xBB\xBF";
  for (int i = 0; i < 40; ++i) {
    if (i % 7 == 0) s += ": keep-alive" + eol();
    if (i % 5 == 0) s += "event: e" + std::to_string(i) + eol();
    if (i % 3 == 0) s += "id: " + std::to_string(i) + eol();
    s += "data: {\"choices\":[{\"text\":\"piece " + std::to_string(i) + "\"}]}" + eol();
    if (i % 4 == 0) s += "data:second line" + eol();
    s += eol();
  }
  s += "data: [DONE]" + eol() + eol();
  return s;
}

TEST(SseParserTest, TheSameStreamCutAtEveryBytePositionParsesTheSame) {
  const std::string stream = MixedStream();
  const std::vector<SseEvent> whole = ParseAll(stream);
  ASSERT_EQ(whole.size(), 41u);
  EXPECT_EQ(whole.back().data, "[DONE]");
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ASSERT_EQ(ParseCut(stream, {cut}), whole) << "cut at byte " << cut;
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(ParseCut(stream, every_byte), whole);
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (true) {
      at += 1 + rng() % 40;
      if (at >= stream.size()) break;
      cuts.push_back(at);
    }
    ASSERT_EQ(ParseCut(stream, cuts), whole) << "round " << round;
  }
}

}  // namespace
}  // namespace inferline::http
