#include "protocol/messages.h"

#include <fmt/format.h>

#include "common/json_value.h"
#include "common/json_writer.h"
#include "protocol/json_fields.h"

namespace inferline::protocol {
namespace json = boost::json;

std::string_view RequestKindName(RequestKind k) {
  return k == RequestKind::kChat ? "chat" : "completion";
}

std::string_view FinalStatusName(FinalStatus s) {
  switch (s) {
    case FinalStatus::kCompleted: return "completed";
    case FinalStatus::kFailed: return "failed";
    case FinalStatus::kCancelled: return "cancelled";
    case FinalStatus::kExpired: return "expired";
  }
  return "failed";
}

Result<FinalStatus> ParseFinalStatus(std::string_view s) {
  if (s == "completed") return FinalStatus::kCompleted;
  if (s == "failed") return FinalStatus::kFailed;
  if (s == "cancelled") return FinalStatus::kCancelled;
  if (s == "expired") return FinalStatus::kExpired;
  return InvalidArgument(fmt::format("unknown final status '{}'", s), "status");
}

Result<GenerationParams> GenerationParamsFromJson(const json::value& v) {
  if (!v.is_object()) return InvalidArgument("'params' must be an object", "params");
  Fields f(v.as_object(), "params.");
  GenerationParams p;
  ASSIGN_OR_RETURN(p.max_tokens, f.RequiredInt("max_tokens", 0, 1 << 24));
  ASSIGN_OR_RETURN(auto t, f.Number("temperature", 0, 2));
  ASSIGN_OR_RETURN(auto tp, f.Number("top_p", 0, 1));
  ASSIGN_OR_RETURN(auto tk, f.Int("top_k", 0, 1 << 24));
  ASSIGN_OR_RETURN(auto rp, f.Number("repetition_penalty", 1e-6, 100));
  ASSIGN_OR_RETURN(auto pp, f.Number("presence_penalty", -2, 2));
  ASSIGN_OR_RETURN(auto fp, f.Number("frequency_penalty", -2, 2));
  p.temperature = t.value_or(1.0);
  p.top_p = tp.value_or(1.0);
  p.top_k = static_cast<int>(tk.value_or(0));
  p.repetition_penalty = rp.value_or(1.0);
  p.presence_penalty = pp.value_or(0.0);
  p.frequency_penalty = fp.value_or(0.0);
  if (const auto* stop = f.Get("stop")) {
    if (!stop->is_array()) return InvalidArgument("'params.stop' must be an array", "params.stop");
    for (const auto& s : stop->as_array()) {
      if (!s.is_string()) return InvalidArgument("'params.stop' must hold strings", "params.stop");
      p.stop.emplace_back(s.as_string());
    }
  }
  if (const auto* seed = f.Get("seed")) {
    if (seed->is_uint64()) p.seed = seed->as_uint64();
    else if (seed->is_int64()) p.seed = static_cast<uint64_t>(seed->as_int64());
    else return InvalidArgument("'params.seed' must be an integer", "params.seed");
  }
  return p;
}

void AppendJson(std::string& out, const GenerationParams& p) {
  JsonObjectWriter o(out);
  o.Int("max_tokens", p.max_tokens)
      .Double("temperature", p.temperature)
      .Double("top_p", p.top_p)
      .Int("top_k", p.top_k)
      .Double("repetition_penalty", p.repetition_penalty)
      .Double("presence_penalty", p.presence_penalty)
      .Double("frequency_penalty", p.frequency_penalty);
  AppendJsonArray(o.Key("stop"), p.stop, [](std::string& out, const std::string& s) {
    AppendJsonString(out, s);
  });
  if (p.seed) o.Uint("seed", *p.seed);
  o.End();
}

void AppendJson(std::string& out, const std::vector<ChatMessage>& messages) {
  AppendJsonArray(out, messages, [](std::string& o, const ChatMessage& m) {
    JsonObjectWriter(o).Str("role", m.role).Str("content", m.content).End();
  });
}

// Written directly (no value tree): every admission serializes one.
std::string Serialize(const RequestMessage& m) {
  std::string out;
  out.reserve(320 + m.prompt.size() + 8 * m.prompt_ids.size());
  JsonObjectWriter o(out);
  o.Int("schema", kSchemaVersion)
      .Str("request_id", m.request_id)
      .Str("user_id", m.user_id)
      .Str("key_id", m.key_id)
      .Str("model", m.model)
      .Str("kind", RequestKindName(m.kind))
      .Str("prompt", m.prompt);
  if (!m.messages.empty()) AppendJson(o.Key("messages"), m.messages);
  AppendJsonArray(o.Key("prompt_ids"), m.prompt_ids,
                  [](std::string& out, int32_t id) { AppendJsonInt(out, id); });
  AppendJson(o.Key("params"), m.params);
  o.Int("prompt_tokens", m.prompt_tokens)
      .Int("reserved_tokens", m.reserved_tokens)
      .Int("priority", m.priority)
      .Int("created_at_ms", m.created_at_ms)
      .Int("deadline_ms", m.deadline_ms)
      .Bool("stream", m.stream)
      .Int("attempt", m.attempt)
      .End();
  return out;
}

namespace {

Status CheckSchema(const Fields& f) {
  ASSIGN_OR_RETURN(int64_t schema, f.RequiredInt("schema", 0, 1000));
  if (schema != kSchemaVersion) {
    return InvalidArgument(fmt::format("unsupported message schema {} (this build reads {})", schema,
                                       kSchemaVersion),
                           "schema");
  }
  return Status::Ok();
}

}  // namespace

Result<RequestMessage> ParseRequestMessage(std::string_view bytes) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(bytes));
  Fields f(o);
  RETURN_IF_ERROR(CheckSchema(f));
  RequestMessage m;
  ASSIGN_OR_RETURN(m.request_id, f.RequiredString("request_id"));
  ASSIGN_OR_RETURN(m.user_id, f.RequiredString("user_id"));
  ASSIGN_OR_RETURN(auto key_id, f.String("key_id"));
  m.key_id = key_id.value_or("");
  ASSIGN_OR_RETURN(m.model, f.RequiredString("model"));
  ASSIGN_OR_RETURN(std::string kind, f.RequiredString("kind"));
  if (kind == "chat") m.kind = RequestKind::kChat;
  else if (kind == "completion") m.kind = RequestKind::kCompletion;
  else return InvalidArgument(fmt::format("unknown request kind '{}'", kind), "kind");
  ASSIGN_OR_RETURN(m.prompt, f.RequiredString("prompt"));
  if (const auto* msgs = f.Get("messages")) {
    if (!msgs->is_array()) return InvalidArgument("'messages' must be an array", "messages");
    for (const auto& mv : msgs->as_array()) {
      if (!mv.is_object()) return InvalidArgument("'messages' must hold objects", "messages");
      Fields mf(mv.as_object(), "messages.");
      ChatMessage cm;
      ASSIGN_OR_RETURN(cm.role, mf.RequiredString("role"));
      ASSIGN_OR_RETURN(cm.content, mf.RequiredString("content"));
      m.messages.push_back(std::move(cm));
    }
  }
  if (const auto* ids = f.Get("prompt_ids")) {
    if (!ids->is_array()) return InvalidArgument("'prompt_ids' must be an array", "prompt_ids");
    m.prompt_ids.reserve(ids->as_array().size());
    for (const auto& id : ids->as_array()) {
      if (!id.is_int64() || id.as_int64() < 0 || id.as_int64() > INT32_MAX) {
        return InvalidArgument("'prompt_ids' must hold token ids", "prompt_ids");
      }
      m.prompt_ids.push_back(static_cast<int32_t>(id.as_int64()));
    }
  }
  const auto* params = f.Get("params");
  if (!params) return InvalidArgument("'params' is required", "params");
  ASSIGN_OR_RETURN(m.params, GenerationParamsFromJson(*params));
  ASSIGN_OR_RETURN(m.prompt_tokens, f.RequiredInt("prompt_tokens", 0, INT64_MAX));
  ASSIGN_OR_RETURN(m.reserved_tokens, f.RequiredInt("reserved_tokens", 0, INT64_MAX));
  ASSIGN_OR_RETURN(auto priority, f.Int("priority", -1000, 1000));
  m.priority = static_cast<int>(priority.value_or(0));
  ASSIGN_OR_RETURN(auto created, f.Int("created_at_ms", 0, INT64_MAX));
  m.created_at_ms = created.value_or(0);
  ASSIGN_OR_RETURN(auto deadline, f.Int("deadline_ms", 0, INT64_MAX));
  m.deadline_ms = deadline.value_or(0);
  ASSIGN_OR_RETURN(auto stream, f.Bool("stream"));
  m.stream = stream.value_or(false);
  ASSIGN_OR_RETURN(auto attempt, f.Int("attempt", 0, 1 << 20));
  m.attempt = static_cast<int>(attempt.value_or(0));
  return m;
}

std::string Serialize(const ResultMessage& m) {
  json::object o;
  o["schema"] = kSchemaVersion;
  o["request_id"] = m.request_id;
  o["user_id"] = m.user_id;
  o["model"] = m.model;
  o["status"] = FinalStatusName(m.status);
  o["output_text"] = m.output_text;
  o["finish_reason"] = m.finish_reason;
  o["usage"] = json::object{{"prompt_tokens", m.usage.prompt_tokens},
                            {"completion_tokens", m.usage.completion_tokens},
                            {"total_tokens", m.usage.total()}};
  o["timings"] = json::object{{"queue_wait_seconds", m.timings.queue_wait_seconds},
                              {"time_to_first_token_seconds", m.timings.time_to_first_token_seconds},
                              {"generation_seconds", m.timings.generation_seconds}};
  if (!m.error_code.empty() || !m.error_message.empty()) {
    o["error"] = json::object{{"code", m.error_code}, {"message", m.error_message}};
  }
  o["worker_id"] = m.worker_id;
  return SerializeJson(o);
}

Result<ResultMessage> ParseResultMessage(std::string_view bytes) {
  ASSIGN_OR_RETURN(json::object o, ParseObject(bytes));
  Fields f(o);
  RETURN_IF_ERROR(CheckSchema(f));
  ResultMessage m;
  ASSIGN_OR_RETURN(m.request_id, f.RequiredString("request_id"));
  ASSIGN_OR_RETURN(m.user_id, f.RequiredString("user_id"));
  ASSIGN_OR_RETURN(m.model, f.RequiredString("model"));
  ASSIGN_OR_RETURN(std::string status, f.RequiredString("status"));
  ASSIGN_OR_RETURN(m.status, ParseFinalStatus(status));
  ASSIGN_OR_RETURN(auto text, f.String("output_text"));
  m.output_text = text.value_or("");
  ASSIGN_OR_RETURN(auto finish, f.String("finish_reason"));
  m.finish_reason = finish.value_or("");
  if (const auto* u = f.Get("usage")) {
    if (!u->is_object()) return InvalidArgument("'usage' must be an object", "usage");
    Fields uf(u->as_object(), "usage.");
    ASSIGN_OR_RETURN(m.usage.prompt_tokens, uf.RequiredInt("prompt_tokens", 0, INT64_MAX));
    ASSIGN_OR_RETURN(m.usage.completion_tokens, uf.RequiredInt("completion_tokens", 0, INT64_MAX));
  }
  if (const auto* t = f.Get("timings"); t && t->is_object()) {
    Fields tf(t->as_object(), "timings.");
    ASSIGN_OR_RETURN(auto qw, tf.Number("queue_wait_seconds", 0, 1e12));
    ASSIGN_OR_RETURN(auto ttft, tf.Number("time_to_first_token_seconds", 0, 1e12));
    ASSIGN_OR_RETURN(auto gen, tf.Number("generation_seconds", 0, 1e12));
    m.timings = {qw.value_or(0), ttft.value_or(0), gen.value_or(0)};
  }
  if (const auto* e = f.Get("error"); e && e->is_object()) {
    Fields ef(e->as_object(), "error.");
    ASSIGN_OR_RETURN(auto code, ef.String("code"));
    ASSIGN_OR_RETURN(auto msg, ef.String("message"));
    m.error_code = code.value_or("");
    m.error_message = msg.value_or("");
  }
  ASSIGN_OR_RETURN(auto worker, f.String("worker_id"));
  m.worker_id = worker.value_or("");
  return m;
}

}  // namespace inferline::protocol
