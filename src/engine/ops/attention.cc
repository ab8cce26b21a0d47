#include "engine/ops/attention.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/kernels.h"
#include "engine/ops/thread_pool.h"

namespace inferline::engine::ops {
namespace {

// Queries per work item: long prefills split into several items per head so that all threads
// get work even with few heads.
constexpr int64_t kQueryBlock = 16;

// Queries [q0, q1) of one head of one sequence.
void AttendBlock(const AttentionSeq& s, AttentionDims d, float scale, int head, int64_t q0,
                 int64_t q1) {
  thread_local std::vector<float> scores;
  const kernels::KernelTable& k = kernels::Active();
  const int hd = d.head_dim;
  const int kv_head = head / (d.num_heads / d.num_kv_heads);
  const float* keys = s.k_cache + static_cast<int64_t>(kv_head) * s.capacity * hd;
  const float* values = s.v_cache + static_cast<int64_t>(kv_head) * s.capacity * hd;
  const int64_t max_len = s.start + q1;
  if (static_cast<int64_t>(scores.size()) < max_len) scores.resize(max_len);
  for (int64_t i = q0; i < q1; ++i) {
    const float* q = s.q + i * s.q_stride + static_cast<int64_t>(head) * hd;
    float* out = s.out + i * s.out_stride + static_cast<int64_t>(head) * hd;
    const int64_t len = s.start + i + 1;  // causal: keys 0 .. start+i
    std::span<float> sc(scores.data(), len);
    k.scores(q, keys, len, hd, scale, sc.data());
    Softmax(sc, len);
    k.weighted_sum(sc.data(), values, len, hd, out);
  }
}

}  // namespace

void CausalAttention(std::span<const AttentionSeq> seqs, AttentionDims d, float scale,
                     ThreadPool* pool) {
  assert(d.num_heads > 0 && d.num_kv_heads > 0 && d.num_heads % d.num_kv_heads == 0);
  // Work items, sequence by sequence: [blocks of that sequence] x [heads].
  std::vector<int64_t> first_item(seqs.size() + 1, 0);
  for (size_t s = 0; s < seqs.size(); ++s) {
    assert(seqs[s].start + seqs[s].n_new <= seqs[s].capacity);
    const int64_t blocks = (seqs[s].n_new + kQueryBlock - 1) / kQueryBlock;
    first_item[s + 1] = first_item[s] + blocks * d.num_heads;
  }
  auto run = [&](int64_t begin, int64_t end, int /*worker*/) {
    for (int64_t item = begin; item < end; ++item) {
      const size_t s =
          std::upper_bound(first_item.begin(), first_item.end(), item) - first_item.begin() - 1;
      const int64_t local = item - first_item[s];
      const int head = static_cast<int>(local % d.num_heads);
      const int64_t q0 = (local / d.num_heads) * kQueryBlock;
      const int64_t q1 = std::min(seqs[s].n_new, q0 + kQueryBlock);
      AttendBlock(seqs[s], d, scale, head, q0, q1);
    }
  };
  const int64_t items = first_item.back();
  if (pool == nullptr) {
    run(0, items, 0);
  } else {
    pool->ParallelFor(items, 1, run);
  }
}

}  // namespace inferline::engine::ops
