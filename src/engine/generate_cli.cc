#include "engine/generate_cli.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/generator.h"
#include "engine/io/model_config.h"

namespace inferline::engine {
namespace {

SamplingParams ResolveSampling(const GenerateCliOptions& o, const GenerationDefaults& d) {
  SamplingParams p;
  if (d.temperature) p.temperature = *d.temperature;
  if (d.top_p) p.top_p = *d.top_p;
  if (d.top_k) p.top_k = *d.top_k;
  if (d.repetition_penalty) p.repetition_penalty = *d.repetition_penalty;
  if (d.do_sample && !*d.do_sample) p.temperature = 0.0f;  // HF: do_sample false = greedy
  if (o.temperature) p.temperature = *o.temperature;
  if (o.top_p) p.top_p = *o.top_p;
  if (o.top_k) p.top_k = *o.top_k;
  if (o.repetition_penalty) p.repetition_penalty = *o.repetition_penalty;
  p.seed = o.seed;
  return p;
}

double PerSecond(int tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; }

}  // namespace

Status RunGenerateCli(const GenerateCliOptions& o) {
  if (o.model_dir.empty()) return InvalidArgument("--model is required", "model");
  ASSIGN_OR_RETURN(std::unique_ptr<Model> loaded,
                   Model::Load(o.model_dir, LoadOptions{.num_threads = o.threads}));
  std::shared_ptr<const Model> model = std::move(loaded);
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, Tokenizer::Load(o.model_dir));
  std::shared_ptr<const Tokenizer> tokenizer = std::move(tok);
  ASSIGN_OR_RETURN(GenerationDefaults defaults, LoadGenerationConfig(o.model_dir));

  std::vector<int32_t> eos(model->config().eos_token_ids.begin(),
                           model->config().eos_token_ids.end());
  for (int id : defaults.eos_token_ids) eos.push_back(id);
  if (tokenizer->eos_id()) eos.push_back(*tokenizer->eos_id());
  std::sort(eos.begin(), eos.end());
  eos.erase(std::unique(eos.begin(), eos.end()), eos.end());
  Generator generator(model, tokenizer, eos);

  GenerateRequest request;
  request.prompt_ids = tokenizer->Encode(o.prompt, /*add_special_tokens=*/true);
  request.sampling = ResolveSampling(o, defaults);
  request.max_tokens = o.max_tokens;
  request.stop = o.stop;

  // The prompt goes out with the first piece, so that an invalid request prints nothing.
  bool started = false;
  auto start = [&] {
    if (started) return;
    started = true;
    std::fputs(o.prompt.c_str(), o.out);
  };
  ASSIGN_OR_RETURN(GenerateResult r, generator.Generate(request, [&](std::string_view piece) {
    start();
    std::fwrite(piece.data(), 1, piece.size(), o.out);
    std::fflush(o.out);
  }));
  start();
  std::fputc('\n', o.out);
  std::fflush(o.out);
  fmt::print(o.err,
             "prompt: {} tokens, {:.1f} tokens/s; generation: {} tokens, {:.1f} tokens/s; "
             "finish_reason: {}; threads: {}\n",
             r.prompt_tokens, PerSecond(r.prompt_tokens, r.prefill_seconds), r.completion_tokens,
             PerSecond(r.completion_tokens, r.decode_seconds), r.finish_reason,
             model->num_threads());
  return Status::Ok();
}

}  // namespace inferline::engine
