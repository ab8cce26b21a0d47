#include "worker/openai_wire.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "common/json_value.h"

namespace inferline::worker {

namespace json = boost::json;

namespace {

constexpr size_t kMaxErrorMessageBytes = 1000;

// The number at `key` as an integer, when it is one.
std::optional<int64_t> IntField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The message of an error value: {"message": ...} or a bare string.
std::string ErrorText(const json::value& error) {
  if (error.is_string()) return std::string(error.as_string());
  if (const json::object* o = error.if_object()) return StringField(*o, "message");
  return {};
}

}  // namespace

UpstreamRequest BuildUpstreamRequest(const protocol::RequestMessage& m, std::string_view model) {
  const protocol::GenerationParams& p = m.params;
  UpstreamRequest out;
  out.chat = !m.messages.empty();
  out.path = out.chat ? "/chat/completions" : "/completions";
  json::object body;
  body["model"] = model.empty() ? m.model : std::string(model);
  if (out.chat) {
    json::array messages;
    for (const protocol::ChatMessage& msg : m.messages) {
      messages.push_back(json::object{{"role", msg.role}, {"content", msg.content}});
    }
    body["messages"] = std::move(messages);
  } else {
    body["prompt"] = m.prompt;
  }
  body["stream"] = true;
  body["stream_options"] = json::object{{"include_usage", true}};
  body["max_tokens"] = p.max_tokens;
  body["temperature"] = p.temperature;
  body["top_p"] = p.top_p;
  if (p.presence_penalty != 0) body["presence_penalty"] = p.presence_penalty;
  if (p.frequency_penalty != 0) body["frequency_penalty"] = p.frequency_penalty;
  if (!p.stop.empty()) {
    json::array stop;
    for (const std::string& s : p.stop) stop.emplace_back(s);
    body["stop"] = std::move(stop);
  }
  if (p.seed) body["seed"] = *p.seed;
  if (p.top_k > 0) body["top_k"] = p.top_k;
  if (p.repetition_penalty != 1.0) body["repetition_penalty"] = p.repetition_penalty;
  out.body = SerializeJson(body);
  return out;
}

Result<UpstreamChunk> ParseUpstreamChunk(std::string_view data, bool chat) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr) {
    return DataLoss(fmt::format("the upstream sent a chunk that is not a JSON object: {}",
                                data.substr(0, 200)));
  }
  if (const json::value* error = o->if_contains("error"); error != nullptr && !error->is_null()) {
    return Internal(fmt::format("the upstream failed: {}", ErrorText(*error)));
  }
  if (StringField(*o, "object") == "error") {
    return Internal(fmt::format("the upstream failed: {}", StringField(*o, "message")));
  }
  UpstreamChunk chunk;
  if (const json::value* choices = o->if_contains("choices"); choices && choices->is_array()) {
    for (const json::value& c : choices->as_array()) {
      const json::object* choice = c.if_object();
      if (choice == nullptr || IntField(*choice, "index").value_or(0) != 0) continue;
      if (chat) {
        const json::value* delta = choice->if_contains("delta");
        if (delta != nullptr && delta->is_object()) {
          chunk.text = StringField(delta->as_object(), "content");
        }
      } else {
        chunk.text = StringField(*choice, "text");
      }
      chunk.finish_reason = StringField(*choice, "finish_reason");
      break;
    }
  }
  if (const json::value* usage = o->if_contains("usage"); usage && usage->is_object()) {
    const json::object& u = usage->as_object();
    std::optional<int64_t> prompt = IntField(u, "prompt_tokens");
    std::optional<int64_t> completion = IntField(u, "completion_tokens");
    if (prompt && completion) chunk.usage = protocol::Usage{*prompt, *completion};
  }
  return chunk;
}

std::string UpstreamErrorMessage(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec) {
    if (const json::object* o = v.if_object()) {
      std::string message;
      if (const json::value* error = o->if_contains("error")) message = ErrorText(*error);
      if (message.empty()) message = StringField(*o, "message");
      if (message.empty()) message = StringField(*o, "detail");
      if (!message.empty()) return message.substr(0, kMaxErrorMessageBytes);
    }
  }
  std::string text(body.substr(0, kMaxErrorMessageBytes));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(no message)" : text;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (err == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<int64_t>(seconds, 86'400) * 1000);
  }
  // An HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::istringstream in{std::string(value)};
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S GMT");
  if (in.fail()) return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

std::string NormalizeFinishReason(std::string_view upstream) {
  return upstream == "length" ? "length" : "stop";
}

}  // namespace inferline::worker
