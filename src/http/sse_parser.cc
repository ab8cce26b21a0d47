#include "http/sse_parser.h"

#include <fmt/format.h>

namespace inferline::http {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* out) {
  if (failed_) return ResourceExhausted("the event stream already failed");
  if (at_start_) {
    // Collect up to three bytes to tell a byte order mark from the stream's first bytes.
    std::string head = bom_prefix_;
    size_t take = std::min(bytes.size(), kBom.size() - head.size());
    head.append(bytes.substr(0, take));
    if (head.size() < kBom.size() && kBom.substr(0, head.size()) == head) {
      bom_prefix_ = head;  // still could be a BOM: wait for more
      return Status::Ok();
    }
    at_start_ = false;
    bom_prefix_.clear();
    bytes.remove_prefix(take);
    if (head != kBom) {
      // Not a BOM: the collected bytes are stream content, parsed ahead of the rest.
      std::string content = std::move(head);
      content.append(bytes);
      return Feed(content, out);
    }
  }
  while (!bytes.empty()) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      line_.append(bytes);
      break;
    }
    line_.append(bytes.substr(0, end));
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        pending_cr_ = true;
      }
    }
    bytes.remove_prefix(end + 1);
    ProcessLine(out);
    line_.clear();
  }
  if (line_.size() + data_.size() > max_event_bytes_) {
    failed_ = true;
    return ResourceExhausted(
        fmt::format("an event-stream event is larger than {} bytes", max_event_bytes_));
  }
  return Status::Ok();
}

void SseParser::ProcessLine(std::vector<SseEvent>* out) {
  std::string_view line = line_;
  if (line.empty()) {
    if (has_data_) {
      SseEvent ev;
      ev.event = std::move(event_);
      ev.data = std::move(data_);
      ev.data.pop_back();  // the '\n' after the last data line
      ev.id = last_id_;
      out->push_back(std::move(ev));
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is the caller's business.
}

}  // namespace inferline::http
