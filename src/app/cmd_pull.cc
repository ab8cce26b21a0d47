// `inferline pull OWNER/NAME`: downloads a model from the Hugging Face Hub into models/NAME,
// checks that it loads, and says how to use it. The work is in src/hub; this file declares the
// options (HF_ENDPOINT and HF_TOKEN are read as the Hub's own tools read them) and prints.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/command.h"
#include "app/version.h"
#include "hub/hub_client.h"
#include "hub/model_check.h"
#include "hub/progress.h"
#include "hub/pull.h"

namespace inferline::app {
namespace {

struct PullFlags {
  std::string repo;
  std::string revision = "main";
  std::string dir;
  std::string endpoint = std::string(hub::kDefaultEndpoint);
  std::string token;
  std::vector<std::string> include;
  int retries = 5;
  double timeout_s = 60;
  std::string progress = "auto";
  bool no_check = false;
};

hub::ConsoleProgress::Style ProgressStyle(const std::string& name) {
  if (name == "bar") return hub::ConsoleProgress::Style::kBar;
  if (name == "plain") return hub::ConsoleProgress::Style::kLines;
  if (name == "none") return hub::ConsoleProgress::Style::kQuiet;
  return hub::ConsoleProgress::AutoStyle(stderr);
}

void PrintSummary(const PullFlags& f, const hub::PullResult& r, const hub::ModelSummary* s) {
  size_t skipped = 0;
  uint64_t total = 0;
  for (const hub::PulledFile& file : r.files) {
    skipped += file.skipped ? 1 : 0;
    total += file.size;
  }
  std::string dir = r.dir.string();
  std::printf("Pulled %s (revision %s, commit %.12s) into %s: %zu files, %s", f.repo.c_str(),
              f.revision.c_str(), r.commit.c_str(), dir.c_str(), r.files.size(),
              hub::FormatBytes(total).c_str());
  if (skipped > 0) std::printf(" (%zu already there)", skipped);
  std::printf("\n");
  if (s != nullptr) {
    std::printf("Model: %s (%s), %s parameters, %s, %d layers, hidden size %d, context %d, "
                "vocabulary %d\n",
                s->class_name.empty() ? s->arch.c_str() : s->class_name.c_str(), s->arch.c_str(),
                hub::FormatParameters(s->parameters).c_str(), s->dtype.c_str(), s->layers,
                s->hidden_size, s->context, s->vocab_size);
    std::printf("Tokenizer: %d tokens, %s\n", s->tokenizer_vocab,
                s->chat_template ? "chat template" : "no chat template");
    for (const std::string& w : s->warnings) std::printf("warning: %s\n", w.c_str());
  }
  std::printf("Use it:\n  inferline generate --model %s --prompt \"Hello\"\n"
              "  inferline serve --model %s\n",
              dir.c_str(), dir.c_str());
}

int RunPull(const PullFlags& f) {
  hub::PullOptions o;
  o.repo = f.repo;
  o.revision = f.revision;
  o.dir = f.dir;
  o.include = f.include;
  o.hub.endpoint = f.endpoint;
  o.hub.token = f.token;
  o.hub.retry.attempts = f.retries + 1;
  o.hub.transport.read_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
  o.hub.transport.connect_timeout = std::min(o.hub.transport.read_timeout,
                                             std::chrono::milliseconds(30'000));
  o.hub.transport.user_agent = std::string("inferline/") + kVersion;

  hub::ConsoleProgress progress(stderr, ProgressStyle(f.progress));
  Result<hub::PullResult> r = hub::Pull(o, &progress);
  if (!r.ok()) {
    std::fprintf(stderr, "inferline pull: %s\n", r.status().message().c_str());
    return r.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  for (const std::string& w : r->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (f.no_check) {
    PrintSummary(f, *r, nullptr);
    return 0;
  }
  Result<hub::ModelSummary> summary = hub::CheckModelFolder(r->dir);
  if (!summary.ok()) {
    std::fprintf(stderr, "inferline pull: downloaded into %s, but the folder does not load: %s\n",
                 r->dir.string().c_str(), summary.status().message().c_str());
    return 1;
  }
  PrintSummary(f, *r, &*summary);
  return 0;
}

}  // namespace

void AddPullCommand(CLI::App& app, Commands& commands) {
  CLI::App* sub = app.add_subcommand(
      "pull", "Download a model from the Hugging Face Hub (config, tokenizer, safetensors)");
  auto f = std::make_shared<PullFlags>();
  sub->add_option("repo", f->repo, "Model id, OWNER/NAME (e.g. HuggingFaceTB/SmolLM2-135M)")
      ->required();
  sub->add_option("--revision,-r", f->revision, "Branch, tag or commit")->capture_default_str();
  sub->add_option("--dir,-d", f->dir, "Target folder (default: models/NAME)");
  sub->add_option("--endpoint", f->endpoint, "Hub URL (mirrors, a local test server)")
      ->envname("HF_ENDPOINT")
      ->capture_default_str();
  sub->add_option("--token", f->token, "Access token for gated or private models")
      ->envname("HF_TOKEN");
  sub->add_option("--include", f->include,
                  "Also download the files matching this pattern (repeatable; e.g. '*.md')");
  sub->add_option("--retries", f->retries, "Retries per request on network errors and 5xx")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  sub->add_option("--timeout", f->timeout_s,
                  "Seconds without progress before a request is abandoned (and retried)")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  sub->add_option("--progress", f->progress, "auto (a bar on a terminal), bar, plain or none")
      ->check(CLI::IsMember({"auto", "bar", "plain", "none"}))
      ->capture_default_str();
  sub->add_flag("--no-check", f->no_check, "Do not load the folder after downloading");
  commands.Add(sub, [f] { return RunPull(*f); });
}

}  // namespace inferline::app
