// SseParser: the client side of server-sent events (see sse_writer.h for the server side). It
// parses a text/event-stream body incrementally, as it arrives in pieces of any size, following
// the WHATWG event-stream rules: lines end in CRLF, LF or CR (a CR at the end of one piece and an
// LF at the start of the next are one line end); "data" lines of one event are joined with "\n";
// lines starting with ':' are comments; a field without a colon has an empty value; one space
// after the colon is dropped; a blank line ends an event, and an event without data is not
// dispatched; a UTF-8 byte order mark at the very start is skipped; an event left unfinished
// when the stream ends is dropped.
//
// Cutting the same stream at different places never changes the events it yields.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::http {

struct SseEvent {
  std::string event;  // the "event" field, "" for the default ("message")
  std::string data;
  std::string id;     // the last "id" seen on the stream so far
  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  // An event (or line) longer than `max_event_bytes` is an error: an upstream that never ends
  // its event must not make the parser buffer without bound.
  explicit SseParser(size_t max_event_bytes = 4 * 1024 * 1024)
      : max_event_bytes_(max_event_bytes) {}

  // Parses the next piece of the stream, appending the events it completes to `out`. After an
  // error (ResourceExhausted) the parser stays failed.
  [[nodiscard]] Status Feed(std::string_view bytes, std::vector<SseEvent>* out);

  // True when a line or event has begun but not ended (a stream that ends here was cut short).
  bool partial() const { return !line_.empty() || has_data_ || pending_cr_; }

 private:
  void ProcessLine(std::vector<SseEvent>* out);

  const size_t max_event_bytes_;
  std::string line_;        // the current line so far
  std::string data_;        // the current event's data lines, each followed by '\n'
  std::string event_;       // the current event's type
  std::string last_id_;
  bool has_data_ = false;
  bool pending_cr_ = false;  // the last piece ended in CR: an LF next is part of that line end
  bool at_start_ = true;     // no byte seen yet (for the byte order mark)
  std::string bom_prefix_;   // a possible BOM split across pieces
  bool failed_ = false;
};

}  // namespace inferline::http
