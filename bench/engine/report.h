// The numbers `inferline bench engine` measures, and how they are printed: an aligned table on
// stdout and, with --csv, one row per number (model, dtype, metric, concurrency, value).
//
// Thread-safety: values and plain functions.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/status.h"

namespace inferline::engine::bench {

struct DecodePoint {
  int concurrency = 0;
  double decode_tps = 0;  // aggregate tokens/s while every sequence decodes
  double e2e_tps = 0;     // completion tokens / (first submit -> last completion)
  double ttft_s = 0;      // of the first request
};

struct BenchRow {
  std::string model, dtype;
  double decode_bytes = 0;  // weights read per decode step
  double roofline_tps = 0;  // bandwidth / decode_bytes
  double prefill_tps = 0;
  double ttft_s = 0;
  std::vector<DecodePoint> decode;
};

struct BenchReport {
  std::string simd;
  int threads = 0;
  double bandwidth = 0;  // bytes/s
  std::vector<BenchRow> rows;
};

void PrintTable(const BenchReport& report, std::FILE* out);
[[nodiscard]] Status WriteCsv(const BenchReport& report, const std::string& path);

}  // namespace inferline::engine::bench
