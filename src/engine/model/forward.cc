// The batched forward pass, top to bottom. Notation in the shape comments:
//   T  tokens in the whole batch (sum of every step's new tokens)
//   R  rows that need logits      d  hidden size      V  vocabulary
//   H  query heads   KV  key/value heads   hd  head size   ff  MLP inner size
#include <algorithm>
#include <cmath>

#include "engine/model/model.h"
#include "engine/ops/attention.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"

namespace inferline::engine {
namespace {

// Resizes only upwards, so buffers settle at the largest batch and stop allocating.
std::span<float> Buffer(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return std::span<float>(v.data(), n);
}

int64_t LogitRows(const SequenceStep& s) {
  switch (s.logits_mode) {
    case LogitsMode::kNone:
      return 0;
    case LogitsMode::kLast:
      return 1;
    case LogitsMode::kAll:
      return static_cast<int64_t>(s.tokens.size());
  }
  return 0;
}

}  // namespace

Status Model::Forward(std::span<const SequenceStep> batch, Activations& act) const {
  RETURN_IF_ERROR(Validate(batch));
  int64_t tokens = 0;
  for (const SequenceStep& s : batch) tokens += static_cast<int64_t>(s.tokens.size());
  if (tokens == 0) return Status::Ok();

  Embed(batch, act);  // x [T, d]
  for (int layer = 0; layer < config_.num_layers; ++layer) {
    AttentionBlock(layer, batch, tokens, act);  // x += attn(norm(x))
    MlpBlock(layer, tokens, act);               // x += mlp(norm(x))
  }
  for (const SequenceStep& s : batch) {
    s.cache->SetLength(s.start_pos + static_cast<int64_t>(s.tokens.size()));
  }
  Logits(batch, act);  // step.logits
  return Status::Ok();
}

void Model::Embed(std::span<const SequenceStep> batch, Activations& act) const {
  const int64_t d = config_.hidden_size;
  int64_t tokens = 0;
  for (const SequenceStep& s : batch) tokens += static_cast<int64_t>(s.tokens.size());
  std::span<float> x = Buffer(act.x, tokens * d);                       // x [T, d]
  const bool learned_positions = !weights_.position_embedding.empty();  // GPT-2
  int64_t row = 0;
  for (const SequenceStep& s : batch) {
    for (size_t i = 0; i < s.tokens.size(); ++i, ++row) {
      weights_.token_embedding.RowToF32(s.tokens[i], x.subspan(row * d, d));
      if (learned_positions) {
        const int64_t pos = s.start_pos + static_cast<int64_t>(i);
        ops::AddInPlace(x.subspan(row * d, d),
                        std::span(weights_.position_embedding).subspan(pos * d, d));
      }
    }
  }
}

void Model::Norm(std::span<const float> in, std::span<const float> w, std::span<const float> b,
                 std::span<float> out) const {
  if (config_.arch == "gpt2") {
    ops::LayerNorm(in, w, b, config_.norm_eps, config_.hidden_size, out);
  } else {
    ops::RmsNorm(in, w, config_.norm_eps, config_.hidden_size, out);
  }
}

void Model::AttentionBlock(int layer, std::span<const SequenceStep> batch, int64_t tokens,
                           Activations& act) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t d = config_.hidden_size, hd = config_.head_dim;
  const int64_t q_dim = config_.num_heads * hd;
  const int64_t kv_dim = config_.num_kv_heads * hd;
  const int64_t qkv_dim = q_dim + 2 * kv_dim;
  std::span<float> x = Buffer(act.x, tokens * d);            // x    [T, d]
  std::span<float> xn = Buffer(act.xn, tokens * d);          // xn   [T, d]
  std::span<float> qkv = Buffer(act.qkv, tokens * qkv_dim);  // qkv  [T, q_dim + 2 kv_dim]
  std::span<float> att = Buffer(act.att, tokens * q_dim);    // att  [T, H * hd]
  std::span<float> proj = Buffer(act.proj, tokens * d);      // proj [T, d]

  Norm(x, w.attn_norm_w, w.attn_norm_b, xn);
  ops::MatMul(xn, w.qkv_w, w.qkv_b, qkv, {tokens, qkv_dim, d}, pool_.get());

  // Rotate q and k by position (Llama), then append k and v to each sequence's cache.
  std::vector<ops::AttentionSeq>& seqs = act.seqs;
  seqs.clear();
  int64_t row = 0;
  for (const SequenceStep& s : batch) {
    const int64_t n = static_cast<int64_t>(s.tokens.size());
    for (int64_t i = 0; i < n; ++i) {
      std::span<float> r = qkv.subspan((row + i) * qkv_dim, qkv_dim);
      std::span<float> q = r.subspan(0, q_dim);       // [H, hd]
      std::span<float> k = r.subspan(q_dim, kv_dim);  // [KV, hd]
      std::span<float> v = r.subspan(q_dim + kv_dim, kv_dim);
      if (rope_) {
        rope_->Apply(q, config_.num_heads, s.start_pos + i);
        rope_->Apply(k, config_.num_kv_heads, s.start_pos + i);
      }
      s.cache->Write(layer, s.start_pos + i, k, v);
    }
    seqs.push_back(ops::AttentionSeq{.q = qkv.data() + row * qkv_dim,
                                     .q_stride = qkv_dim,
                                     .k_cache = s.cache->keys(layer),
                                     .v_cache = s.cache->values(layer),
                                     .capacity = s.cache->capacity(),
                                     .start = s.start_pos,
                                     .n_new = n,
                                     .out = att.data() + row * q_dim,
                                     .out_stride = q_dim});
    row += n;
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  ops::CausalAttention(seqs, {config_.num_heads, config_.num_kv_heads, config_.head_dim}, scale,
                       pool_.get());

  ops::MatMul(att, w.o_w, w.o_b, proj, {tokens, d, q_dim}, pool_.get());
  ops::AddInPlace(x, proj);
}

void Model::MlpBlock(int layer, int64_t tokens, Activations& act) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t d = config_.hidden_size, ff = config_.intermediate_size;
  const bool gated = config_.arch == "llama";
  const int64_t up_dim = gated ? 2 * ff : ff;
  std::span<float> x = Buffer(act.x, tokens * d);         // x    [T, d]
  std::span<float> xn = Buffer(act.xn, tokens * d);       // xn   [T, d]
  std::span<float> up = Buffer(act.up, tokens * up_dim);  // up   [T, ff] or [T, 2 ff]
  std::span<float> proj = Buffer(act.proj, tokens * d);   // proj [T, d]

  Norm(x, w.mlp_norm_w, w.mlp_norm_b, xn);
  ops::MatMul(xn, w.up_w, w.up_b, up, {tokens, up_dim, d}, pool_.get());
  std::span<float> hidden = up;  // hidden [T, ff]
  if (gated) {
    hidden = Buffer(act.hidden, tokens * ff);
    ops::SwiGlu(up, ff, hidden);  // silu(gate) * up
  } else if (gelu_tanh_) {
    ops::GeluTanh(hidden);
  } else {
    ops::GeluErf(hidden);
  }
  ops::MatMul(hidden, w.down_w, w.down_b, proj, {tokens, d, ff}, pool_.get());
  ops::AddInPlace(x, proj);
}

void Model::Logits(std::span<const SequenceStep> batch, Activations& act) const {
  const int64_t d = config_.hidden_size, vocab = config_.vocab_size;
  int64_t rows = 0;
  for (const SequenceStep& s : batch) rows += LogitRows(s);
  if (rows == 0) return;
  std::span<float> last = Buffer(act.last, rows * d);          // last   [R, d]
  std::span<float> logits = Buffer(act.logits, rows * vocab);  // logits [R, V]

  // Gather the rows that need logits, so the (often largest) vocabulary matmul skips the rest.
  int64_t row = 0, out = 0;
  for (const SequenceStep& s : batch) {
    const int64_t n = static_cast<int64_t>(s.tokens.size());
    const int64_t first = n - LogitRows(s);
    for (int64_t i = first; i < n; ++i, ++out) {
      std::copy_n(act.x.data() + (row + i) * d, d, last.data() + out * d);
    }
    row += n;
  }
  Norm(last, weights_.final_norm_w, weights_.final_norm_b, last);
  ops::MatMul(last, weights_.LmHead(), {}, logits, {rows, vocab, d}, pool_.get());

  out = 0;
  for (const SequenceStep& s : batch) {
    const int64_t r = LogitRows(s);
    std::copy_n(logits.data() + out * vocab, r * vocab, s.logits.data());
    out += r;
  }
}

}  // namespace inferline::engine
