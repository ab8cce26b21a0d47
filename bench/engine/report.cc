#include "bench/engine/report.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "bench/engine/engine_bench.h"

namespace inferline::engine::bench {
namespace {

const DecodePoint* At(const BenchRow& row, int c) {
  for (const DecodePoint& p : row.decode) {
    if (p.concurrency == c) return &p;
  }
  return nullptr;
}

}  // namespace

void PrintTable(const BenchReport& r, std::FILE* out) {
  fmt::print(out, "kernels: {}   threads: {}   streaming-read bandwidth: {:.1f} GB/s\n\n", r.simd,
             r.threads, r.bandwidth / 1e9);
  std::vector<int> cs;
  for (const BenchRow& row : r.rows) {
    for (const DecodePoint& p : row.decode) {
      if (std::find(cs.begin(), cs.end(), p.concurrency) == cs.end()) cs.push_back(p.concurrency);
    }
  }
  std::string head = fmt::format("{:<10} {:<5} {:>8} {:>9} {:>9} {:>6}", "model", "dtype",
                                 "MB/step", "roofline", "decode@1", "%roof");
  for (int c : cs) {
    if (c != 1) head += fmt::format(" {:>9}", fmt::format("@{}", c));
  }
  head += fmt::format(" {:>7} {:>9} {:>8}", "32vs1", "prefill", "TTFT ms");
  fmt::print(out, "{}\n{}\n", head, std::string(head.size(), '-'));
  for (const BenchRow& row : r.rows) {
    const DecodePoint* one = At(row, 1);
    const DecodePoint* c32 = At(row, 32);
    std::string line = fmt::format("{:<10} {:<5} {:>8.1f} {:>9.1f} {:>9.1f} {:>5.0f}%",
                                   row.model, row.dtype, row.decode_bytes / 1e6, row.roofline_tps,
                                   one ? one->decode_tps : 0.0,
                                   one ? 100.0 * one->decode_tps / row.roofline_tps : 0.0);
    for (int c : cs) {
      if (c == 1) continue;
      const DecodePoint* p = At(row, c);
      line += p ? fmt::format(" {:>9.1f}", p->decode_tps) : fmt::format(" {:>9}", "-");
    }
    line += (one && c32) ? fmt::format(" {:>6.1f}x", c32->decode_tps / one->decode_tps)
                         : fmt::format(" {:>7}", "-");
    line += fmt::format(" {:>9.0f} {:>8.1f}", row.prefill_tps, row.ttft_s * 1e3);
    fmt::print(out, "{}\n", line);
  }
  fmt::print(out,
             "\ndecode columns: aggregate tokens/s with N sequences decoding at once; roofline: "
             "bandwidth / weight bytes per step (one sequence); prefill: tokens/s of one "
             "prompt\n");
}

Status WriteCsv(const BenchReport& r, const std::string& path) {
  std::ofstream f(path);
  if (!f) return InvalidArgument(fmt::format("cannot write {}", path), "csv");
  f << "model,dtype,metric,concurrency,value\n";
  f << fmt::format("machine,,bandwidth_bytes_per_s,,{:.0f}\n", r.bandwidth);
  for (const BenchRow& row : r.rows) {
    auto put = [&](const std::string& metric, int c, double v) {
      f << fmt::format("{},{},{},{},{:.6g}\n", row.model, row.dtype, metric,
                       c > 0 ? std::to_string(c) : "", v);
    };
    put("decode_bytes_per_step", 0, row.decode_bytes);
    put("roofline_tokens_per_s", 0, row.roofline_tps);
    put("prefill_tokens_per_s", 0, row.prefill_tps);
    put("ttft_seconds", 0, row.ttft_s);
    for (const DecodePoint& p : row.decode) {
      put("decode_tokens_per_s", p.concurrency, p.decode_tps);
      put("end_to_end_tokens_per_s", p.concurrency, p.e2e_tps);
    }
  }
  return f.good() ? Status::Ok() : Internal(fmt::format("writing {} failed", path));
}

void DeclareEngineBenchFlags(CLI::App& app, EngineBenchOptions& o) {
  app.add_option("--models", o.models, "gpt2-124m (random weights) and/or kjv-small")
      ->delimiter(',');
  app.add_option("--dtypes", o.dtypes, "Weight precisions: f32, bf16, f16, int8")->delimiter(',');
  app.add_option("--concurrency", o.concurrency, "Concurrent sequences to decode")
      ->delimiter(',');
  app.add_option("--prompt-tokens", o.prompt_tokens, "Prompt of each decoding sequence");
  app.add_option("--gen-tokens", o.gen_tokens, "Tokens each decoding sequence generates");
  app.add_option("--prefill-tokens", o.prefill_tokens, "Prompt of the prefill / TTFT runs");
  app.add_option("--threads", o.threads, "Threads for the forward pass")
      ->check(CLI::Range(1, 1024));
  app.add_option("--repeats", o.repeats, "Prefill, TTFT and bandwidth: best of N");
  app.add_option("--decode-repeats", o.decode_repeats,
                 "Decode points: run each N times and report the median run (odd N)");
  app.add_option("--bandwidth-mib", o.bandwidth_mib, "Buffer of the read-bandwidth test");
  app.add_option("--kjv-dir", o.kjv_dir, "The shipped model (also the bench's tokenizer)");
  app.add_option("--random-model-dir", o.random_model_dir,
                 "Where the random GPT-2 124M folder is written and reused");
  app.add_option("--csv", o.csv, "Also write every number to this CSV file");
}

}  // namespace inferline::engine::bench
