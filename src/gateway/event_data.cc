#include "gateway/event_data.h"

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "common/json_value.h"

namespace inferline::gateway {
namespace json = boost::json;

namespace {

std::optional<json::object> ParseData(std::string_view data) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::string> StringField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

std::optional<int64_t> IntField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().as_uint64());
  return std::nullopt;
}

store::RequestStatus StatusForEvent(events::EventType t) {
  switch (t) {
    case events::EventType::kFailed: return store::RequestStatus::kFailed;
    case events::EventType::kCancelled: return store::RequestStatus::kCancelled;
    case events::EventType::kExpired: return store::RequestStatus::kExpired;
    default: return store::RequestStatus::kCompleted;
  }
}

json::value UsageJson(const std::optional<store::TokenUsage>& u) {
  if (!u) return nullptr;
  return json::object{{"prompt_tokens", u->prompt_tokens},
                      {"completion_tokens", u->completion_tokens},
                      {"total_tokens", u->total()}};
}

json::value TimeOrNull(const std::optional<store::Time>& t) {
  if (!t) return nullptr;
  return json::string(Rfc3339(*t));
}

}  // namespace

int64_t UnixSeconds(store::Time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string Rfc3339(store::Time t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  auto secs = std::chrono::floor<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", secs, (ms - secs).count());
}

std::optional<std::string> TokenText(std::string_view data) {
  auto o = ParseData(data);
  if (!o) return std::nullopt;
  for (std::string_view key : {"text", "token", "delta"}) {
    if (auto s = StringField(*o, key)) return s;
  }
  return std::nullopt;
}

std::optional<FinalResult> FinalFromEvent(const events::Event& ev) {
  auto o = ParseData(ev.data);
  if (!o) return std::nullopt;
  FinalResult r;
  r.status = StatusForEvent(ev.type);
  auto text = StringField(*o, "output_text");
  if (!text) text = StringField(*o, "text");
  r.finish_reason = StringField(*o, "finish_reason").value_or("");
  if (auto u = o->find("usage"); u != o->end() && u->value().is_object()) {
    const json::object& uo = u->value().as_object();
    auto p = IntField(uo, "prompt_tokens");
    auto c = IntField(uo, "completion_tokens");
    if (p && c) r.usage = store::TokenUsage{*p, *c};
  }
  if (auto e = o->find("error"); e != o->end() && e->value().is_object()) {
    r.error_code = StringField(e->value().as_object(), "code").value_or("");
    r.error_message = StringField(e->value().as_object(), "message").value_or("");
  }
  if (r.status == store::RequestStatus::kCompleted && (!text || !r.usage)) return std::nullopt;
  // A publisher may drop an over-long text from the event: then the record has it.
  if (text->empty() && r.usage && r.usage->completion_tokens > 0 &&
      r.finish_reason != "stop") {
    return std::nullopt;
  }
  r.output_text = text.value_or("");
  return r;
}

FinalResult FinalFromRecord(const store::RequestRecord& rec) {
  FinalResult r;
  r.status = rec.status;
  r.output_text = rec.output_text;
  r.finish_reason = rec.finish_reason;
  r.usage = rec.usage;
  r.error_code = rec.error_code;
  r.error_message = rec.error_message;
  return r;
}

events::EventType TerminalEventFor(store::RequestStatus s) {
  switch (s) {
    case store::RequestStatus::kFailed: return events::EventType::kFailed;
    case store::RequestStatus::kCancelled: return events::EventType::kCancelled;
    case store::RequestStatus::kExpired: return events::EventType::kExpired;
    default: return events::EventType::kCompleted;
  }
}

std::string TerminalEventData(const store::RequestRecord& rec) {
  json::object o{{"request_id", rec.id},
                 {"status", store::RequestStatusName(rec.status)},
                 {"text", rec.output_text},
                 {"finish_reason", rec.finish_reason},
                 {"usage", UsageJson(rec.usage)}};
  if (!rec.error_code.empty() || !rec.error_message.empty()) {
    o["error"] = json::object{{"code", rec.error_code}, {"message", rec.error_message}};
  }
  o["synthesized"] = true;
  return SerializeJson(o);
}

std::string StatusEventData(const store::RequestRecord& rec) {
  json::object o{{"request_id", rec.id},
                 {"status", store::RequestStatusName(rec.status)},
                 {"model", rec.model},
                 {"prompt_tokens", rec.prompt_tokens},
                 {"reserved_tokens", rec.reserved_tokens},
                 {"synthesized", true}};
  return SerializeJson(o);
}

std::string QueuedEventData(const store::RequestRecord& rec) {
  json::object o{{"request_id", rec.id},
                 {"status", "queued"},
                 {"model", rec.model}};
  o["prompt_tokens"] = rec.prompt_tokens;
  // max_tokens as admission settled it, from the stored parameters (absent if unreadable).
  if (std::optional<json::object> params = ParseData(rec.params_json)) {
    if (const json::value* m = params->if_contains("max_tokens"); m && m->is_int64()) {
      o["max_tokens"] = m->as_int64();
    }
  }
  o["reserved_tokens"] = rec.reserved_tokens;
  o["created"] = UnixSeconds(rec.created_at);
  return SerializeJson(o);
}

json::object RequestDocument(const store::RequestRecord& rec) {
  json::object o;
  o["id"] = rec.id;
  o["object"] = "inference.request";
  o["status"] = store::RequestStatusName(rec.status);
  o["model"] = rec.model;
  o["kind"] = store::RequestKindName(rec.kind);
  o["created"] = UnixSeconds(rec.created_at);
  o["prompt_tokens"] = rec.prompt_tokens;
  o["reserved_tokens"] = rec.reserved_tokens;
  o["attempts"] = rec.attempts;
  bool terminal = store::IsTerminal(rec.status);
  if (terminal && rec.status == store::RequestStatus::kCompleted) {
    o["result"] = json::object{{"text", rec.output_text}, {"finish_reason", rec.finish_reason}};
  } else if (terminal && !rec.output_text.empty()) {
    o["result"] = json::object{{"text", rec.output_text}, {"finish_reason", rec.finish_reason}};
  } else {
    o["result"] = nullptr;
  }
  o["usage"] = UsageJson(rec.usage);
  json::object timings{{"created_at", Rfc3339(rec.created_at)},
                       {"started_at", TimeOrNull(rec.started_at)},
                       {"finished_at", TimeOrNull(rec.finished_at)},
                       {"deadline", TimeOrNull(rec.deadline)}};
  auto seconds = [](store::Time a, store::Time b) {
    return std::chrono::duration<double>(b - a).count();
  };
  timings["queue_wait_seconds"] =
      rec.started_at ? json::value(seconds(rec.created_at, *rec.started_at)) : json::value(nullptr);
  timings["total_seconds"] = rec.finished_at ? json::value(seconds(rec.created_at, *rec.finished_at))
                                             : json::value(nullptr);
  o["timings"] = std::move(timings);
  if (!rec.error_code.empty() || !rec.error_message.empty()) {
    o["error"] = json::object{{"code", rec.error_code}, {"message", rec.error_message}};
  } else {
    o["error"] = nullptr;
  }
  o["status_url"] = "/v1/requests/" + rec.id;
  o["events_url"] = "/v1/requests/" + rec.id + "/events";
  return o;
}

}  // namespace inferline::gateway
