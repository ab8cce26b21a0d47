#include "gateway/openai_format.h"

namespace inferline::gateway {
namespace json = boost::json;

namespace {

json::object Head(const ResponseHeader& h, std::string_view object) {
  json::object o;
  o["id"] = h.id;
  o["object"] = object;
  o["created"] = h.created;
  o["model"] = h.model;
  return o;
}

json::value FinishOrNull(std::optional<std::string_view> f) {
  if (!f) return nullptr;
  return json::string(*f);
}

}  // namespace

json::value UsageJson(const std::optional<store::TokenUsage>& usage) {
  store::TokenUsage u = usage.value_or(store::TokenUsage{});
  return json::object{{"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"total_tokens", u.total()}};
}

json::object CompletionResponse(const ResponseHeader& h, std::string_view text,
                                std::string_view finish_reason,
                                const std::optional<store::TokenUsage>& usage) {
  bool chat = h.kind == protocol::RequestKind::kChat;
  json::object o = Head(h, chat ? "chat.completion" : "text_completion");
  json::object choice;
  choice["index"] = 0;
  if (chat) {
    choice["message"] =
        json::object{{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason;
  o["choices"] = json::array{std::move(choice)};
  o["usage"] = UsageJson(usage);
  o["system_fingerprint"] = nullptr;
  return o;
}

json::object CompletionChunk(const ResponseHeader& h, std::string_view text,
                             std::optional<std::string_view> finish_reason, bool role,
                             bool include_usage) {
  bool chat = h.kind == protocol::RequestKind::kChat;
  json::object o = Head(h, chat ? "chat.completion.chunk" : "text_completion");
  json::object choice;
  choice["index"] = 0;
  if (chat) {
    json::object delta;
    if (role) delta["role"] = "assistant";
    if (role || !text.empty() || !finish_reason) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = FinishOrNull(finish_reason);
  o["choices"] = json::array{std::move(choice)};
  if (chat) o["system_fingerprint"] = nullptr;
  if (include_usage) o["usage"] = nullptr;
  return o;
}

json::object UsageChunk(const ResponseHeader& h, const std::optional<store::TokenUsage>& usage) {
  bool chat = h.kind == protocol::RequestKind::kChat;
  json::object o = Head(h, chat ? "chat.completion.chunk" : "text_completion");
  o["choices"] = json::array();
  if (chat) o["system_fingerprint"] = nullptr;
  o["usage"] = UsageJson(usage);
  return o;
}

}  // namespace inferline::gateway
