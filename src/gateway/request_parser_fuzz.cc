// libFuzzer target: arbitrary bytes as the JSON body of every generation endpoint. Parsing must
// never crash, and whatever it accepts must be within the documented ranges, because the
// gateway trusts a parsed request: an accepted temperature outside [0, 2] or a negative
// max_tokens would reach the engine.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "gateway/request_parser.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "accepted out of range: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferline::gateway;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ParseLimits limits;
  limits.max_prompt_chars = 4096;
  for (BodyShape shape :
       {BodyShape::kCompletion, BodyShape::kChat, BodyShape::kAsync, BodyShape::kSeed}) {
    auto r = ParseGenerationBody(body, shape, limits);
    if (!r.ok()) continue;
    const auto& p = r->params;
    Check(!r->max_tokens_given || p.max_tokens >= 1, "max_tokens");
    Check(std::isfinite(p.temperature) && p.temperature >= 0 && p.temperature <= 2, "temperature");
    Check(std::isfinite(p.top_p) && p.top_p > 0 && p.top_p <= 1, "top_p");
    Check(p.top_k >= 0, "top_k");
    Check(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0, "repetition_penalty");
    Check(p.stop.size() <= static_cast<size_t>(limits.max_stop_sequences), "stop");
    Check(r->prompt.size() <= limits.max_prompt_chars * 4, "prompt");
    Check(!r->timeout_seconds || (std::isfinite(*r->timeout_seconds) && *r->timeout_seconds > 0),
          "timeout_seconds");
  }
  return 0;
}
