// The key/value cache of ONE sequence: every layer's keys and values for positions
// 0 .. length()-1, so that decoding a token attends to the past without recomputing it.
//
// The cache belongs to whoever runs the sequence (the Generator, later the batching scheduler),
// never to the Model: one Model serves many sequences, each with its own cache. It is allocated
// once for a fixed capacity (prompt + max new tokens, at most the model's context) and reused.
//
// Layout per layer: keys and values each [num_kv_heads, capacity, head_dim], so one head's
// keys are contiguous for the attention kernel. f32 for now; the performance work may store
// bf16/int8 here behind the same accessors.
//
// Thread-safety: none. A cache is used by one forward pass at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "engine/io/model_config.h"

namespace inferline::engine {

struct KvCacheShape {
  int num_layers = 0;
  int num_kv_heads = 0;
  int head_dim = 0;

  bool operator==(const KvCacheShape&) const = default;
};

class KvCache {
 public:
  // InvalidArgument when the shape or the capacity is not positive, or the capacity exceeds
  // the model's context (max_positions).
  [[nodiscard]] static Result<std::unique_ptr<KvCache>> Create(const ModelConfig& config,
                                                               int64_t capacity);
  [[nodiscard]] static Result<std::unique_ptr<KvCache>> Create(KvCacheShape shape,
                                                               int64_t capacity);

  const KvCacheShape& shape() const { return shape_; }
  int64_t capacity() const { return capacity_; }
  // Positions 0 .. length()-1 hold valid keys and values.
  int64_t length() const { return length_; }

  // Forgets positions >= n (n <= length()); e.g. Truncate(0) to reuse the cache for a new
  // sequence.
  void Truncate(int64_t n);

  // Layer `layer`'s keys / values: [num_kv_heads, capacity, head_dim].
  float* keys(int layer) { return data_.data() + LayerOffset(layer); }
  float* values(int layer) { return data_.data() + LayerOffset(layer) + PlaneSize(); }
  const float* keys(int layer) const { return data_.data() + LayerOffset(layer); }
  const float* values(int layer) const { return data_.data() + LayerOffset(layer) + PlaneSize(); }

  // Stores one token's keys and values ([num_kv_heads * head_dim] each, head-major as the
  // projection produces them) at `pos` < capacity(). Does not change length().
  void Write(int layer, int64_t pos, std::span<const float> k, std::span<const float> v);

  // Called by the forward pass once positions [0, n) are all written.
  void SetLength(int64_t n);

  size_t bytes() const { return data_.size() * sizeof(float); }

 private:
  KvCache(KvCacheShape shape, int64_t capacity);
  int64_t PlaneSize() const {
    return static_cast<int64_t>(shape_.num_kv_heads) * capacity_ * shape_.head_dim;
  }
  int64_t LayerOffset(int layer) const { return 2 * PlaneSize() * layer; }

  KvCacheShape shape_;
  int64_t capacity_ = 0;
  int64_t length_ = 0;
  std::vector<float> data_;  // [num_layers, {keys, values}, num_kv_heads, capacity, head_dim]
};

}  // namespace inferline::engine
