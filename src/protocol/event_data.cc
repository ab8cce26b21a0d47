#include "protocol/event_data.h"

#include "common/json_value.h"
#include "protocol/json_fields.h"

namespace inferline::protocol {
namespace json = boost::json;

std::string Serialize(const QueuedEventData& d) {
  return SerializeJson(json::object{{"model", d.model},
                                      {"prompt_tokens", d.prompt_tokens},
                                      {"reserved_tokens", d.reserved_tokens}});
}

std::string Serialize(const StartedEventData& d) {
  return SerializeJson(json::object{{"worker_id", d.worker_id},
                                      {"attempt", d.attempt},
                                      {"queue_wait_seconds", d.queue_wait_seconds}});
}

std::string Serialize(const TokenEventData& d) {
  return SerializeJson(json::object{{"index", d.index}, {"text", d.text}});
}

std::string Serialize(const TerminalEventData& d) {
  json::object o;
  o["text"] = d.text;
  o["finish_reason"] = d.finish_reason;
  o["usage"] = json::object{{"prompt_tokens", d.usage.prompt_tokens},
                            {"completion_tokens", d.usage.completion_tokens},
                            {"total_tokens", d.usage.total()}};
  if (d.status != FinalStatus::kCompleted || !d.error_code.empty()) {
    o["error"] = json::object{{"code", d.error_code}, {"message", d.error_message}};
  }
  return SerializeJson(o);
}

Result<QueuedEventData> ParseQueuedEventData(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(text));
  Fields f(o);
  QueuedEventData d;
  ASSIGN_OR_RETURN(auto model, f.String("model"));
  ASSIGN_OR_RETURN(auto prompt, f.Int("prompt_tokens", 0, INT64_MAX));
  ASSIGN_OR_RETURN(auto reserved, f.Int("reserved_tokens", 0, INT64_MAX));
  d.model = model.value_or("");
  d.prompt_tokens = prompt.value_or(0);
  d.reserved_tokens = reserved.value_or(0);
  return d;
}

Result<StartedEventData> ParseStartedEventData(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(text));
  Fields f(o);
  StartedEventData d;
  ASSIGN_OR_RETURN(auto worker, f.String("worker_id"));
  ASSIGN_OR_RETURN(auto attempt, f.Int("attempt", 0, 1 << 20));
  ASSIGN_OR_RETURN(auto wait, f.Number("queue_wait_seconds", 0, 1e12));
  d.worker_id = worker.value_or("");
  d.attempt = static_cast<int>(attempt.value_or(1));
  d.queue_wait_seconds = wait.value_or(0);
  return d;
}

Result<TokenEventData> ParseTokenEventData(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(text));
  Fields f(o);
  TokenEventData d;
  ASSIGN_OR_RETURN(d.index, f.RequiredInt("index", 0, INT64_MAX));
  ASSIGN_OR_RETURN(d.text, f.RequiredString("text"));
  return d;
}

Result<TerminalEventData> ParseTerminalEventData(std::string_view text, FinalStatus status) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(text));
  Fields f(o);
  TerminalEventData d;
  d.status = status;
  ASSIGN_OR_RETURN(auto out, f.String("text"));
  ASSIGN_OR_RETURN(auto finish, f.String("finish_reason"));
  d.text = out.value_or("");
  d.finish_reason = finish.value_or("");
  if (const auto* u = f.Get("usage")) {
    if (!u->is_object()) return InvalidArgument("'usage' must be an object", "usage");
    Fields uf(u->as_object(), "usage.");
    ASSIGN_OR_RETURN(auto p, uf.Int("prompt_tokens", 0, INT64_MAX));
    ASSIGN_OR_RETURN(auto c, uf.Int("completion_tokens", 0, INT64_MAX));
    d.usage = {p.value_or(0), c.value_or(0)};
  }
  if (const auto* e = f.Get("error")) {
    if (!e->is_object()) return InvalidArgument("'error' must be an object", "error");
    Fields ef(e->as_object(), "error.");
    ASSIGN_OR_RETURN(auto code, ef.String("code"));
    ASSIGN_OR_RETURN(auto msg, ef.String("message"));
    d.error_code = code.value_or("");
    d.error_message = msg.value_or("");
  }
  return d;
}

}  // namespace inferline::protocol
