#include "gateway/request_parser.h"

#include <boost/json/monotonic_resource.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include "protocol/json_fields.h"

namespace inferline::gateway {
namespace json = boost::json;
using protocol::Fields;

namespace {

constexpr std::array kCommonKeys = {
    "model",          "max_tokens",        "temperature", "top_p", "top_k",
    "repetition_penalty", "presence_penalty", "frequency_penalty", "stop", "seed",
    "stream",         "stream_options",    "user",        "n",     "logit_bias",
    "logprobs"};
constexpr std::array kCompletionKeys = {"prompt", "echo", "suffix", "best_of"};
constexpr std::array kChatKeys = {"messages", "max_completion_tokens", "response_format",
                                  "top_logprobs", "tools", "tool_choice", "parallel_tool_calls"};
constexpr std::array kAsyncKeys = {"priority", "timeout_seconds"};
constexpr std::array kSeedKeys = {"prompt", "max_length", "temperature", "top_p", "top_k",
                                  "repetition_penalty", "num_return_sequences", "user_id",
                                  "model", "stream", "seed", "stop"};

template <size_t N>
bool In(const std::array<const char*, N>& keys, std::string_view k) {
  return std::any_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; });
}

Status CheckKnownKeys(const json::object& o, BodyShape shape) {
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    bool ok = false;
    switch (shape) {
      case BodyShape::kCompletion: ok = In(kCommonKeys, k) || In(kCompletionKeys, k); break;
      case BodyShape::kChat: ok = In(kCommonKeys, k) || In(kChatKeys, k); break;
      case BodyShape::kAsync:
        ok = In(kCommonKeys, k) || In(kCompletionKeys, k) || In(kChatKeys, k) || In(kAsyncKeys, k);
        break;
      case BodyShape::kSeed: ok = In(kSeedKeys, k); break;
    }
    if (!ok) {
      return InvalidArgument(fmt::format("Unrecognized request argument supplied: {}", k),
                             std::string(k));
    }
  }
  return Status::Ok();
}

Status Unsupported(std::string_view param, std::string_view what) {
  return InvalidArgument(fmt::format("'{}': {} is not supported by this server", param, what),
                         std::string(param));
}

Result<std::string> ParsePrompt(const Fields& f, const ParseLimits& limits) {
  const json::value* v = f.Get("prompt");
  if (!v) return InvalidArgument("'prompt' is required", "prompt");
  std::string prompt;
  if (v->is_string()) {
    prompt = std::string(v->as_string());
  } else if (v->is_array()) {
    const auto& a = v->as_array();
    if (a.size() == 1 && a[0].is_string()) {
      prompt = std::string(a[0].as_string());
    } else if (!a.empty() && a[0].is_string()) {
      return InvalidArgument("'prompt': only one prompt per request is supported; send one "
                             "request per prompt",
                             "prompt");
    } else {
      return InvalidArgument("'prompt' must be a string (token-id prompts are not supported)",
                             "prompt");
    }
  } else {
    return InvalidArgument(
        fmt::format("'prompt' must be a string, got {}", protocol::JsonKindName(*v)), "prompt");
  }
  if (prompt.empty()) return InvalidArgument("'prompt' must not be empty", "prompt");
  if (prompt.size() > limits.max_prompt_chars) {
    return InvalidArgument(fmt::format("'prompt' is too long: {} bytes, the limit is {}",
                                       prompt.size(), limits.max_prompt_chars),
                           "prompt");
  }
  return prompt;
}

Result<std::string> MessageContent(const json::value& c, size_t i) {
  std::string param = fmt::format("messages[{}].content", i);
  if (c.is_string()) return std::string(c.as_string());
  if (!c.is_array()) {
    return InvalidArgument(
        fmt::format("'{}' must be a string or an array of text parts", param), param);
  }
  std::string text;
  for (const auto& part : c.as_array()) {
    if (!part.is_object()) return InvalidArgument(fmt::format("'{}' parts must be objects", param), param);
    const auto& po = part.as_object();
    auto type = po.find("type");
    if (type == po.end() || !type->value().is_string()) {
      return InvalidArgument(fmt::format("'{}' parts need a 'type'", param), param);
    }
    if (type->value().as_string() != "text") {
      return Unsupported(param, fmt::format("content of type '{}'",
                                            std::string_view(type->value().as_string())));
    }
    auto t = po.find("text");
    if (t == po.end() || !t->value().is_string()) {
      return InvalidArgument(fmt::format("'{}' text parts need a string 'text'", param), param);
    }
    text += t->value().as_string();
  }
  return text;
}

Result<std::vector<protocol::ChatMessage>> ParseMessages(const Fields& f, const ParseLimits& limits) {
  const json::value* v = f.Get("messages");
  if (!v) return InvalidArgument("'messages' is required", "messages");
  if (!v->is_array()) {
    return InvalidArgument(
        fmt::format("'messages' must be an array, got {}", protocol::JsonKindName(*v)), "messages");
  }
  const auto& a = v->as_array();
  if (a.empty()) return InvalidArgument("'messages' must not be empty", "messages");
  if (a.size() > limits.max_messages) {
    return InvalidArgument(fmt::format("'messages' has {} entries, the limit is {}", a.size(),
                                       limits.max_messages),
                           "messages");
  }
  std::vector<protocol::ChatMessage> out;
  size_t total = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_object()) {
      return InvalidArgument(fmt::format("'messages[{}]' must be an object", i),
                             fmt::format("messages[{}]", i));
    }
    const auto& mo = a[i].as_object();
    auto role = mo.find("role");
    std::string role_param = fmt::format("messages[{}].role", i);
    if (role == mo.end() || !role->value().is_string()) {
      return InvalidArgument(fmt::format("'{}' is required and must be a string", role_param),
                             role_param);
    }
    std::string r(role->value().as_string());
    if (r != "system" && r != "user" && r != "assistant" && r != "developer") {
      return InvalidArgument(
          fmt::format("'{}' must be one of system, developer, user, assistant; got '{}'",
                      role_param, r),
          role_param);
    }
    if (r == "developer") r = "system";
    auto content = mo.find("content");
    std::string content_param = fmt::format("messages[{}].content", i);
    if (content == mo.end() || content->value().is_null()) {
      return InvalidArgument(fmt::format("'{}' is required", content_param), content_param);
    }
    ASSIGN_OR_RETURN(std::string text, MessageContent(content->value(), i));
    total += text.size();
    out.push_back({std::move(r), std::move(text)});
  }
  if (total > limits.max_prompt_chars) {
    return InvalidArgument(fmt::format("'messages' are too long: {} bytes, the limit is {}", total,
                                       limits.max_prompt_chars),
                           "messages");
  }
  return out;
}

Result<std::vector<std::string>> ParseStop(const Fields& f, const ParseLimits& limits) {
  std::vector<std::string> out;
  const json::value* v = f.Get("stop");
  if (!v) return out;
  auto add = [&](const json::value& s) -> Status {
    if (!s.is_string()) return InvalidArgument("'stop' must be a string or an array of strings", "stop");
    if (s.as_string().empty()) return InvalidArgument("'stop' sequences must not be empty", "stop");
    if (s.as_string().size() > limits.max_stop_chars) {
      return InvalidArgument(fmt::format("'stop' sequences are limited to {} bytes",
                                         limits.max_stop_chars), "stop");
    }
    out.emplace_back(s.as_string());
    return Status::Ok();
  };
  if (v->is_array()) {
    if (static_cast<int>(v->as_array().size()) > limits.max_stop_sequences) {
      return InvalidArgument(fmt::format("'stop' allows at most {} sequences",
                                         limits.max_stop_sequences), "stop");
    }
    for (const auto& s : v->as_array()) RETURN_IF_ERROR(add(s));
  } else {
    RETURN_IF_ERROR(add(*v));
  }
  return out;
}

// Parameters that only have one supported value.
Status CheckUnsupported(const Fields& f) {
  ASSIGN_OR_RETURN(auto n, f.Int("n", 1, 128));
  if (n && *n != 1) return Unsupported("n", "more than one choice per request");
  ASSIGN_OR_RETURN(auto best_of, f.Int("best_of", 1, 128));
  if (best_of && *best_of != 1) return Unsupported("best_of", "best_of other than 1");
  if (const auto* lp = f.Get("logprobs"); lp && !(lp->is_bool() && !lp->as_bool())) {
    if (!lp->is_bool() && !lp->is_int64()) {
      return InvalidArgument("'logprobs' must be a boolean or an integer", "logprobs");
    }
    if (!(lp->is_int64() && lp->as_int64() == 0)) return Unsupported("logprobs", "logprobs");
  }
  if (const auto* tl = f.Get("top_logprobs"); tl) return Unsupported("top_logprobs", "top_logprobs");
  if (const auto* lb = f.Get("logit_bias"); lb) {
    if (!lb->is_object()) return InvalidArgument("'logit_bias' must be an object", "logit_bias");
    if (!lb->as_object().empty()) return Unsupported("logit_bias", "logit_bias");
  }
  if (f.Has("suffix")) return Unsupported("suffix", "suffix");
  if (f.Has("tools")) return Unsupported("tools", "tool calling");
  if (f.Has("tool_choice")) return Unsupported("tool_choice", "tool calling");
  if (const auto* rf = f.Get("response_format"); rf) {
    bool text = rf->is_object() && rf->as_object().contains("type") &&
                rf->as_object().at("type").is_string() &&
                rf->as_object().at("type").as_string() == "text";
    if (!text) return Unsupported("response_format", "a response_format other than text");
  }
  ASSIGN_OR_RETURN(auto ptc, f.Bool("parallel_tool_calls"));
  (void)ptc;
  return Status::Ok();
}

Status ParseSampling(const Fields& f, BodyShape shape, GenerationRequest& r) {
  auto& p = r.params;
  if (shape == BodyShape::kSeed) {
    // The original system's defaults.
    p.temperature = 0.7;
    p.top_p = 0.9;
    p.top_k = 50;
    p.repetition_penalty = 1.2;
  }
  ASSIGN_OR_RETURN(auto t, f.Number("temperature", 0, 2));
  ASSIGN_OR_RETURN(auto tp, f.Number("top_p", 0, 1));
  ASSIGN_OR_RETURN(auto tk, f.Int("top_k", -1, 1 << 20));
  ASSIGN_OR_RETURN(auto rp, f.Number("repetition_penalty", 0.01, 10));
  if (t) p.temperature = *t;
  // OpenAI accepts top_p = 0 (only the most likely token); the sampler wants top_p > 0, and
  // the smallest positive value keeps exactly the most likely token.
  if (tp) p.top_p = *tp > 0 ? *tp : 1e-6;
  if (tk) p.top_k = *tk < 0 ? 0 : static_cast<int>(*tk);
  if (rp) p.repetition_penalty = *rp;
  if (shape != BodyShape::kSeed) {
    ASSIGN_OR_RETURN(auto pp, f.Number("presence_penalty", -2, 2));
    ASSIGN_OR_RETURN(auto fp, f.Number("frequency_penalty", -2, 2));
    if (pp) p.presence_penalty = *pp;
    if (fp) p.frequency_penalty = *fp;
  }
  ASSIGN_OR_RETURN(auto seed, f.Int("seed", std::numeric_limits<int64_t>::min(),
                                    std::numeric_limits<int64_t>::max()));
  if (seed) p.seed = static_cast<uint64_t>(*seed);

  const char* max_key = shape == BodyShape::kSeed ? "max_length" : "max_tokens";
  ASSIGN_OR_RETURN(auto mt, f.Int(max_key, 1, 1 << 20));
  if (shape == BodyShape::kChat || shape == BodyShape::kAsync) {
    ASSIGN_OR_RETURN(auto mct, f.Int("max_completion_tokens", 1, 1 << 20));
    if (mct) mt = mct;
  }
  if (mt) {
    p.max_tokens = static_cast<int>(*mt);
    r.max_tokens_given = true;
  } else if (shape == BodyShape::kSeed) {
    p.max_tokens = 100;
    r.max_tokens_given = true;
  }
  ASSIGN_OR_RETURN(p.stop, ParseStop(f, ParseLimits{}));
  return Status::Ok();
}

}  // namespace

Result<GenerationRequest> ParseGenerationBody(std::string_view body, BodyShape shape,
                                              const ParseLimits& limits) {
  // The tree lives only in this call (every field is copied out): build it in one arena, on
  // the stack for the usual small body, instead of a heap allocation per node.
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof(arena));
  ASSIGN_OR_RETURN(json::object o, protocol::ParseObject(body, &mr));
  RETURN_IF_ERROR(CheckKnownKeys(o, shape));
  Fields f(o);
  GenerationRequest r;

  if (shape == BodyShape::kSeed) {
    ASSIGN_OR_RETURN(auto model, f.String("model"));
    r.model = model.value_or("");
    ASSIGN_OR_RETURN(auto nrs, f.Int("num_return_sequences", 1, 128));
    if (nrs && *nrs != 1) return Unsupported("num_return_sequences", "more than one sequence");
    ASSIGN_OR_RETURN(auto user_id, f.String("user_id"));
    r.user = user_id.value_or("");
  } else {
    ASSIGN_OR_RETURN(r.model, f.RequiredString("model"));
    if (r.model.empty()) return InvalidArgument("'model' must not be empty", "model");
    RETURN_IF_ERROR(CheckUnsupported(f));
    ASSIGN_OR_RETURN(auto user, f.String("user"));
    r.user = user.value_or("");
    if (r.user.size() > 256) return InvalidArgument("'user' is limited to 256 characters", "user");
  }

  bool chat = shape == BodyShape::kChat || (shape == BodyShape::kAsync && o.contains("messages"));
  if (shape == BodyShape::kAsync && o.contains("messages") && o.contains("prompt")) {
    return InvalidArgument("send either 'prompt' or 'messages', not both", "messages");
  }
  if (chat) {
    r.kind = protocol::RequestKind::kChat;
    ASSIGN_OR_RETURN(r.messages, ParseMessages(f, limits));
  } else {
    r.kind = protocol::RequestKind::kCompletion;
    ASSIGN_OR_RETURN(r.prompt, ParsePrompt(f, limits));
  }
  RETURN_IF_ERROR(ParseSampling(f, shape, r));

  ASSIGN_OR_RETURN(auto stream, f.Bool("stream"));
  r.stream = shape != BodyShape::kSeed && stream.value_or(false);
  if (const auto* so = f.Get("stream_options")) {
    if (!so->is_object()) return InvalidArgument("'stream_options' must be an object", "stream_options");
    if (!r.stream) {
      return InvalidArgument("'stream_options' is only allowed when 'stream' is true",
                             "stream_options");
    }
    Fields sf(so->as_object(), "stream_options.");
    for (const auto& kv : so->as_object()) {
      if (kv.key() != "include_usage") {
        return InvalidArgument(fmt::format("Unrecognized request argument supplied: "
                                           "stream_options.{}", std::string_view(kv.key())),
                               fmt::format("stream_options.{}", std::string_view(kv.key())));
      }
    }
    ASSIGN_OR_RETURN(auto iu, sf.Bool("include_usage"));
    r.include_usage = iu.value_or(false);
  }
  if (shape == BodyShape::kCompletion || shape == BodyShape::kAsync) {
    ASSIGN_OR_RETURN(auto echo, f.Bool("echo"));
    r.echo = echo.value_or(false);
  }
  if (shape == BodyShape::kAsync) {
    ASSIGN_OR_RETURN(auto prio, f.Int("priority", -10, 10));
    r.priority = static_cast<int>(prio.value_or(0));
    ASSIGN_OR_RETURN(r.timeout_seconds, f.Number("timeout_seconds", 1, 7 * 86400));
  }
  return r;
}

}  // namespace inferline::gateway
