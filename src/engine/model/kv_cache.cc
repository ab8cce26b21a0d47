#include "engine/model/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace inferline::engine {

Result<std::unique_ptr<KvCache>> KvCache::Create(const ModelConfig& config, int64_t capacity) {
  if (capacity > config.max_positions) {
    return InvalidArgument(
        fmt::format("KV cache capacity {} exceeds the model's context of {} "
                    "positions",
                    capacity, config.max_positions));
  }
  return Create(KvCacheShape{config.num_layers, config.num_kv_heads, config.head_dim}, capacity);
}

Result<std::unique_ptr<KvCache>> KvCache::Create(KvCacheShape shape, int64_t capacity) {
  if (shape.num_layers <= 0 || shape.num_kv_heads <= 0 || shape.head_dim <= 0) {
    return InvalidArgument(
        fmt::format("KV cache shape must be positive, got layers={} "
                    "kv_heads={} head_dim={}",
                    shape.num_layers, shape.num_kv_heads, shape.head_dim));
  }
  if (capacity <= 0) {
    return InvalidArgument(fmt::format("KV cache capacity must be positive, got {}", capacity));
  }
  return std::unique_ptr<KvCache>(new KvCache(shape, capacity));
}

KvCache::KvCache(KvCacheShape shape, int64_t capacity) : shape_(shape), capacity_(capacity) {
  data_.resize(static_cast<size_t>(2 * PlaneSize() * shape.num_layers));
}

void KvCache::Truncate(int64_t n) {
  assert(n >= 0);
  length_ = std::min(length_, n);
}

void KvCache::SetLength(int64_t n) {
  assert(n >= 0 && n <= capacity_);
  length_ = n;
}

void KvCache::Write(int layer, int64_t pos, std::span<const float> k, std::span<const float> v) {
  const int hd = shape_.head_dim;
  assert(layer >= 0 && layer < shape_.num_layers && pos >= 0 && pos < capacity_);
  assert(static_cast<int64_t>(k.size()) == static_cast<int64_t>(shape_.num_kv_heads) * hd);
  assert(v.size() == k.size());
  float* kd = keys(layer);
  float* vd = values(layer);
  for (int h = 0; h < shape_.num_kv_heads; ++h) {
    const int64_t dst = (h * capacity_ + pos) * hd;
    std::copy_n(k.data() + static_cast<int64_t>(h) * hd, hd, kd + dst);
    std::copy_n(v.data() + static_cast<int64_t>(h) * hd, hd, vd + dst);
  }
}

}  // namespace inferline::engine
