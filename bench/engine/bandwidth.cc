// Streaming-read bandwidth: the speed limit of memory-bound decoding on this machine.
#include <algorithm>
#include <chrono>
#include <vector>

#include "bench/engine/engine_bench.h"
#include "engine/ops/kernels.h"
#include "engine/ops/thread_pool.h"

namespace inferline::engine::bench {

double MeasureReadBandwidth(int64_t mib, int threads, int repeats) {
  const int64_t n = mib * (1 << 20) / static_cast<int64_t>(sizeof(float));
  std::vector<float> buf(n, 1.0f);  // touched once, so every page is resident
  ThreadPool pool(threads);
  const ops::kernels::KernelTable& k = ops::kernels::Active();
  constexpr int64_t kChunk = 1 << 18;  // 1 MiB of floats per work item
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> sums(threads, 0.0);
  double best = 0;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.ParallelFor(chunks, 1, [&](int64_t c0, int64_t c1, int worker) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
        sums[worker] += k.sum(buf.data() + begin, len);
      }
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(n) * sizeof(float) / s);
  }
  // Use the sums so the reads cannot be optimised away.
  double total = 0;
  for (double s : sums) total += s;
  return total > 0 ? best : best * 0.999;
}

}  // namespace inferline::engine::bench
