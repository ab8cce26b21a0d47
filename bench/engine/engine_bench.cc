// The measurements of `inferline bench engine`; the table and the CSV are in report.cc.
#include "bench/engine/engine_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>

#include "bench/engine/report.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#include "engine/ops/kernels.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0, Clock::time_point t1 = Clock::now()) {
  return std::chrono::duration<double>(t1 - t0).count();
}

// Distinct prompts of random ids the tokenizer knows.
std::vector<int32_t> Prompt(int n, int seed, int vocab) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, vocab - 1);
  std::vector<int32_t> p(n);
  for (int32_t& t : p) t = id(rng);
  return p;
}

// Prefill tokens/s of one sequence straight through Model::Forward, best of `repeats`.
Result<double> PrefillRate(const Model& model, int tokens, int repeats) {
  ASSIGN_OR_RETURN(auto cache, KvCache::Create(model.config(), tokens));
  const std::vector<int32_t> ids = Prompt(tokens, 7, std::min(model.config().vocab_size, 4096));
  std::vector<float> logits(model.config().vocab_size);
  Activations act;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    cache->Truncate(0);
    SequenceStep step{cache.get(), 0, ids, LogitsMode::kLast, logits};
    const auto t0 = Clock::now();
    RETURN_IF_ERROR(model.Forward({&step, 1}, act));
    best = std::max(best, tokens / Since(t0));
  }
  return best;
}

// Runs `prompts` through a fresh Engine with one slot per prompt and records when every token
// arrived (on the scheduler thread, so the timestamps are ordered).
struct ServeRun {
  Clock::time_point submitted;
  std::vector<Clock::time_point> first_token, done;
  std::vector<Clock::time_point> events;  // every token
  std::vector<EngineResult> results;
};

Result<ServeRun> Serve(std::shared_ptr<const Model> model,
                       std::shared_ptr<const Tokenizer> tokenizer,
                       const std::vector<std::vector<int32_t>>& prompts, int gen_tokens) {
  const int c = static_cast<int>(prompts.size());
  EngineOptions o;
  o.max_slots = c;
  o.max_context = static_cast<int>(prompts[0].size()) + gen_tokens;
  o.max_batch_tokens = std::max(512, c);
  ASSIGN_OR_RETURN(auto engine, Engine::Create(model, tokenizer, o));
  ServeRun run;
  run.first_token.resize(c);
  run.done.resize(c);
  run.results.resize(c);
  run.events.reserve(static_cast<size_t>(c) * gen_tokens);
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  run.submitted = Clock::now();
  for (int i = 0; i < c; ++i) {
    EngineRequest r;
    r.prompt_ids = prompts[i];
    r.sampling.temperature = 0;
    r.max_tokens = gen_tokens;
    r.ignore_eos = true;
    EngineCallbacks cb;
    cb.on_token = [&run, i](const TokenEvent& e) {
      const auto now = Clock::now();
      if (e.index == 0) run.first_token[i] = now;
      run.events.push_back(now);
    };
    cb.on_done = [&, i](EngineResult res) {
      std::lock_guard<std::mutex> lock(mu);
      run.done[i] = Clock::now();
      run.results[i] = std::move(res);
      ++finished;
      cv.notify_all();
    };
    ASSIGN_OR_RETURN(uint64_t id, engine->Submit(std::move(r), std::move(cb)));
    (void)id;
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finished == c; });
  for (const EngineResult& r : run.results) {
    if (r.finish_reason != "length") {
      return Internal(fmt::format("bench request ended with '{}': {}", r.finish_reason,
                                  r.error.ToString()));
    }
  }
  return run;
}

// Decode tokens/s while all `c` sequences decode: from the last first token to the first
// completion (every slot busy), plus end-to-end tokens/s (submit to last completion).
Result<DecodePoint> DecodeRate(std::shared_ptr<const Model> model,
                               std::shared_ptr<const Tokenizer> tokenizer, int c,
                               const EngineBenchOptions& o) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < c; ++i) prompts.push_back(Prompt(o.prompt_tokens, 100 + i, 4096));
  // The requests are submitted one by one while the engine already steps, so on a busy machine
  // (or with very short generations) the first can finish before the last has started. Such a
  // run never had every sequence decoding at once and measures nothing: run it again.
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(ServeRun run, Serve(model, tokenizer, prompts, o.gen_tokens));
    const auto start = *std::max_element(run.first_token.begin(), run.first_token.end());
    const auto end = *std::min_element(run.done.begin(), run.done.end());
    const auto last = *std::max_element(run.done.begin(), run.done.end());
    int64_t tokens = 0;
    for (const auto& t : run.events) tokens += (t > start && t <= end) ? 1 : 0;
    if (tokens == 0 || end <= start) {
      if (attempt < kAttempts) continue;
      return Internal(fmt::format(
          "the {} sequences never decoded together in {} attempts (generations of {} tokens "
          "are too short for this machine's load: raise --gen-tokens)",
          c, kAttempts, o.gen_tokens));
    }
    DecodePoint p;
    p.concurrency = c;
    p.decode_tps = static_cast<double>(tokens) / Since(start, end);
    p.e2e_tps = static_cast<double>(c) * o.gen_tokens / Since(run.submitted, last);
    p.ttft_s = run.results[0].ttft_seconds;
    return p;
  }
}

Result<BenchRow> MeasureModel(const std::string& name, const std::string& dir,
                              ops::WeightDType dtype, std::shared_ptr<const Tokenizer> tokenizer,
                              double bandwidth, const EngineBenchOptions& o, std::FILE* err) {
  fmt::print(err, "[bench] {} {}: loading\n", name, ops::WeightDTypeName(dtype));
  LoadOptions lo;
  lo.num_threads = o.threads;
  lo.weight_dtype = dtype;
  ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::Load(dir, lo));
  BenchRow row;
  row.model = name;
  row.dtype = std::string(ops::WeightDTypeName(dtype));
  row.decode_bytes = static_cast<double>(model->weights().decode_bytes());
  row.roofline_tps = bandwidth / row.decode_bytes;
  const int context = model->config().max_positions;
  const int prefill = std::min(o.prefill_tokens, context);
  ASSIGN_OR_RETURN(row.prefill_tps, PrefillRate(*model, prefill, o.repeats));
  // Time to first token of a prefill_tokens prompt on an idle engine (best of repeats).
  row.ttft_s = 1e9;
  for (int r = 0; r < o.repeats; ++r) {
    ASSIGN_OR_RETURN(ServeRun one, Serve(model, tokenizer,
                                         {Prompt(std::min(prefill, context - 1), 3, 4096)}, 1));
    row.ttft_s = std::min(row.ttft_s, one.results[0].ttft_seconds);
  }
  for (int c : o.concurrency) {
    if (o.prompt_tokens + o.gen_tokens > context) {
      return InvalidArgument(fmt::format("prompt {} + gen {} tokens exceed {}'s context of {}",
                                         o.prompt_tokens, o.gen_tokens, name, context));
    }
    fmt::print(err, "[bench] {} {}: {} concurrent\n", name, row.dtype, c);
    // The median of a few runs: one decode window lasts about a second, short enough for a
    // neighbour on a shared machine to spoil one.
    std::vector<DecodePoint> runs;
    for (int r = 0; r < o.decode_repeats; ++r) {
      ASSIGN_OR_RETURN(DecodePoint p, DecodeRate(model, tokenizer, c, o));
      runs.push_back(p);
    }
    std::sort(runs.begin(), runs.end(), [](const DecodePoint& a, const DecodePoint& b) {
      return a.decode_tps < b.decode_tps;
    });
    row.decode.push_back(runs[runs.size() / 2]);
  }
  return row;
}

}  // namespace

Status RunEngineBench(const EngineBenchOptions& o, std::FILE* out, std::FILE* err) {
  if (o.threads < 1) return InvalidArgument("--threads must be at least 1", "threads");
  if (o.prompt_tokens < 1 || o.gen_tokens < 2 || o.prefill_tokens < 1 || o.repeats < 1 ||
      o.decode_repeats < 1) {
    return InvalidArgument("token counts must be positive (gen-tokens at least 2)");
  }
  std::vector<ops::WeightDType> dtypes;
  for (const std::string& d : o.dtypes) {
    ASSIGN_OR_RETURN(ops::WeightDType t, ops::ParseWeightDType(d));
    dtypes.push_back(t);
  }
  for (int c : o.concurrency) {
    if (c < 1 || c > EngineOptions::kMaxSlots) {
      return InvalidArgument(fmt::format("concurrency must be in [1, {}], got {}",
                                         EngineOptions::kMaxSlots, c));
    }
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Tokenizer> tokenizer, Tokenizer::Load(o.kjv_dir));

  BenchReport report;
  report.simd = ops::kernels::SimdName(ops::kernels::Active().simd);
  report.threads = o.threads;
  fmt::print(err, "[bench] streaming-read bandwidth over {} MiB, {} threads\n", o.bandwidth_mib,
             o.threads);
  report.bandwidth = MeasureReadBandwidth(o.bandwidth_mib, o.threads, o.repeats + 2);
  for (const std::string& name : o.models) {
    std::string dir;
    if (name == "gpt2-124m") {
      fmt::print(err, "[bench] random GPT-2 124M weights in {}\n", o.random_model_dir);
      RETURN_IF_ERROR(WriteRandomGpt2(o.random_model_dir, Gpt2Shape{}, 124));
      dir = o.random_model_dir;
    } else if (name == "kjv-small") {
      dir = o.kjv_dir;
    } else {
      return InvalidArgument(
          fmt::format("unknown bench model '{}': expected gpt2-124m or kjv-small", name), "models");
    }
    for (ops::WeightDType t : dtypes) {
      ASSIGN_OR_RETURN(BenchRow row, MeasureModel(name, dir, t, tokenizer, report.bandwidth, o, err));
      report.rows.push_back(std::move(row));
    }
  }
  PrintTable(report, out);
  if (!o.csv.empty()) RETURN_IF_ERROR(WriteCsv(report, o.csv));
  return Status::Ok();
}

}  // namespace inferline::engine::bench
