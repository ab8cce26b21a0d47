// `inferline generate`: generate text from a model folder on the command line.
#include <cstdio>
#include <memory>

#include "app/command.h"
#include "app/model_path.h"
#include "engine/generate_cli.h"

namespace inferline::app {
namespace {

struct GenerateFlags {
  std::string model;
  std::string prompt;
  int max_tokens = 128;
  std::optional<float> temperature, top_p, repetition_penalty;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  int threads = 0;
};

}  // namespace

void AddGenerateCommand(CLI::App& app, Commands& commands) {
  CLI::App* sub = app.add_subcommand(
      "generate", "Generate text from a model folder; streams to stdout, speed to stderr");
  auto f = std::make_shared<GenerateFlags>();
  sub->add_option("--model,-m", f->model,
                  "Hugging Face model folder (default: the shipped models/kjv-small)");
  sub->add_option("--prompt,-p", f->prompt, "The prompt")->required();
  sub->add_option("--max-tokens,-n", f->max_tokens, "Tokens to generate")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--temperature", f->temperature, "0 = greedy (default: the model's)")
      ->check(CLI::Range(0.0, 2.0));
  sub->add_option("--top-p", f->top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--top-k", f->top_k, "Keep the k most likely tokens (0 = off)")
      ->check(CLI::Range(0, 1 << 24));
  sub->add_option("--repetition-penalty", f->repetition_penalty, "Hugging Face definition")
      ->check(CLI::Range(0.01, 10.0));
  sub->add_option("--seed", f->seed, "Same seed, same text");
  sub->add_option("--stop", f->stop, "Stop string (repeatable)");
  sub->add_option("--threads", f->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  commands.Add(sub, [f] {
    engine::GenerateCliOptions o;
    o.model_dir = f->model.empty() ? DefaultModelPath() : f->model;
    o.prompt = f->prompt;
    o.max_tokens = f->max_tokens;
    o.temperature = f->temperature;
    o.top_p = f->top_p;
    o.top_k = f->top_k;
    o.repetition_penalty = f->repetition_penalty;
    o.seed = f->seed;
    o.stop = f->stop;
    o.threads = f->threads;
    Status st = engine::RunGenerateCli(o);
    if (!st.ok()) {
      std::fprintf(stderr, "inferline generate: %s\n", st.message().c_str());
      return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    return 0;
  });
}

}  // namespace inferline::app
