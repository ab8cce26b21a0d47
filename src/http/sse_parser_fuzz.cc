// libFuzzer target: arbitrary bytes as an event stream. Parsing must not crash, and feeding the
// stream in pieces (cut where the input's first bytes say) must yield exactly the events that
// feeding it whole yields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "http/sse_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using inferline::http::SseEvent;
  using inferline::http::SseParser;
  if (size < 2) return 0;
  const size_t step = 1 + data[0] % 16;  // piece length pattern
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  SseParser whole(1 << 16);
  std::vector<SseEvent> expected;
  const bool whole_ok = whole.Feed(stream, &expected).ok();

  SseParser pieces(1 << 16);
  std::vector<SseEvent> got;
  bool pieces_ok = true;
  for (size_t at = 0, n = 0; at < stream.size(); at += n) {
    n = std::min(stream.size() - at, step + at % 3);
    pieces_ok = pieces.Feed(stream.substr(at, n), &got).ok() && pieces_ok;
  }
  // The size limit is checked per piece, so only streams within it must agree.
  if (whole_ok && pieces_ok && got != expected) std::abort();
  return 0;
}
