// POST /tokenize, /v1/tokenize and /detokenize, /v1/detokenize: what a prompt costs before it
// is sent. The ids come from Admission::Prepare, the very function that counts a generation
// request's prompt, so `count` is what /v1/completions reports as usage.prompt_tokens and
// `reserve` what admission would reserve. They need a valid key, spend no token quota, and
// count against the plan's requests-per-minute limit.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "gateway/gateway.h"
#include "protocol/json_fields.h"

namespace inferline::gateway {
namespace json = boost::json;
namespace beast_http = boost::beast::http;

boost::asio::awaitable<std::optional<Principal>> Gateway::AuthenticateTokenizer(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return std::nullopt;
  if (principal->limits.requests_per_minute) {
    std::chrono::seconds retry{1};
    if (!tokenize_minute_.Allow(principal->user_id, *principal->limits.requests_per_minute,
                                SlidingMinuteCounter::Clock::now(), &retry)) {
      ctx.SetHeader("Retry-After", std::to_string(retry.count()));
      Reject(ctx,
             ResourceExhausted(fmt::format("Rate limit reached for requests per minute ({}); "
                                           "retry in {} s.",
                                           *principal->limits.requests_per_minute, retry.count())),
             "rate_limit_exceeded", "rate_limit_exceeded");
      co_return std::nullopt;
    }
  }
  co_return principal;
}

Gateway::Task Gateway::Tokenize(Ctx& ctx) {
  std::optional<Principal> principal = co_await AuthenticateTokenizer(ctx);
  if (!principal) co_return;
  Result<GenerationRequest> req = ParseGenerationBody(ctx.body(), BodyShape::kAsync,
                                                      options_.parse_limits);
  if (!req.ok()) {
    Reject(ctx, req.status());
    co_return;
  }
  const ServedModel* model = deps_.models->Find(req->model);
  if (!model) {
    Reject(ctx, NotFound(fmt::format("The model '{}' does not exist", req->model)),
           "invalid_request_error", "model_not_found");
    co_return;
  }
  // Tokenizing a long prompt takes milliseconds: not on the I/O thread.
  Result<PreparedPrompt> prepared =
      co_await RunBlocking(pool_, [&] { return admission_.Prepare(*model, *req); });
  if (!prepared.ok()) {
    Reject(ctx, prepared.status());
    co_return;
  }
  json::array tokens;
  tokens.reserve(prepared->ids.size());
  for (int32_t id : prepared->ids) tokens.emplace_back(id);
  const int64_t count = static_cast<int64_t>(prepared->ids.size());
  ctx.Json(beast_http::status::ok,
           json::object{{"model", model->name},
                        {"tokens", std::move(tokens)},
                        {"count", count},
                        {"max_model_len", model->context_length},
                        {"max_tokens", prepared->max_tokens},
                        {"reserve", count + prepared->max_tokens}});
}

Gateway::Task Gateway::Detokenize(Ctx& ctx) {
  std::optional<Principal> principal = co_await AuthenticateTokenizer(ctx);
  if (!principal) co_return;
  Result<json::object> body = protocol::ParseObject(ctx.body());
  if (!body.ok()) {
    Reject(ctx, body.status());
    co_return;
  }
  for (const auto& kv : *body) {
    if (kv.key() != "model" && kv.key() != "tokens") {
      Reject(ctx, InvalidArgument(fmt::format("Unrecognized request argument supplied: {}",
                                              std::string_view(kv.key())),
                                  std::string(kv.key())));
      co_return;
    }
  }
  protocol::Fields f(*body);
  Result<std::string> name = f.RequiredString("model");
  if (!name.ok()) {
    Reject(ctx, name.status());
    co_return;
  }
  const ServedModel* model = deps_.models->Find(*name);
  if (!model) {
    Reject(ctx, NotFound(fmt::format("The model '{}' does not exist", *name)),
           "invalid_request_error", "model_not_found");
    co_return;
  }
  const json::value* tv = f.Get("tokens");
  if (!tv || !tv->is_array()) {
    Reject(ctx, InvalidArgument("'tokens' is required and must be an array of token ids", "tokens"));
    co_return;
  }
  const int64_t vocab = model->tokenizer->vocab_size();
  std::vector<int32_t> ids;
  ids.reserve(tv->as_array().size());
  for (size_t i = 0; i < tv->as_array().size(); ++i) {
    const json::value& v = tv->as_array()[i];
    if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() >= vocab) {
      Reject(ctx, InvalidArgument(fmt::format("'tokens[{}]' must be a token id between 0 and {}",
                                              i, vocab - 1),
                                  fmt::format("tokens[{}]", i)));
      co_return;
    }
    ids.push_back(static_cast<int32_t>(v.as_int64()));
  }
  std::string text = co_await RunBlocking(
      pool_, [&] { return model->tokenizer->Decode(ids, /*skip_special_tokens=*/false); });
  ctx.Json(beast_http::status::ok,
           json::object{{"model", model->name}, {"prompt", std::move(text)}});
}

}  // namespace inferline::gateway
