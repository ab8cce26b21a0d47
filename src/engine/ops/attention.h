// Causal self-attention of new tokens over a KV cache, for a batch of sequences at once.
//
// Each sequence brings the queries of its n_new new tokens (at positions start .. start+n_new-1)
// and its own key/value cache, already holding positions 0 .. start+n_new-1 (the new tokens'
// keys and values are written before this runs). Query i attends to cache positions
// 0 .. start+i. Grouped-query attention: query head h reads kv head h / (num_heads /
// num_kv_heads); with num_kv_heads == num_heads this is ordinary multi-head attention.
//
// The cache layout is [num_kv_heads, capacity, head_dim], so one head's keys are contiguous.
//
// Thread-safety: pure function of its inputs; work items (sequence, head, block of queries) are
// spread over `pool`. Per-thread score buffers are thread_local and grow to the longest context
// seen, so steady-state decoding does not allocate.
#pragma once

#include <cstdint>
#include <span>

namespace inferline::engine {
class ThreadPool;
}

namespace inferline::engine::ops {

struct AttentionDims {
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
};

// One sequence's part of the batch. Raw pointers because the rows are strided views into the
// model's batched activation buffers.
struct AttentionSeq {
  const float* q = nullptr;  // [n_new, q_stride]; head h at q + h * head_dim
  int64_t q_stride = 0;
  const float* k_cache = nullptr;  // [num_kv_heads, capacity, head_dim]
  const float* v_cache = nullptr;  // [num_kv_heads, capacity, head_dim]
  int64_t capacity = 0;
  int64_t start = 0;  // position of the first new token
  int64_t n_new = 0;
  float* out = nullptr;  // [n_new, out_stride]; head h at out + h * head_dim
  int64_t out_stride = 0;
};

// scale is usually 1 / sqrt(head_dim). pool may be null.
void CausalAttention(std::span<const AttentionSeq> seqs, AttentionDims dims, float scale,
                     ThreadPool* pool);

}  // namespace inferline::engine::ops
