#include "engine/model/test_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <random>
#include <utility>
#include <vector>

namespace inferline::engine::testing {
namespace {

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  float mean = 0.0f;   // 1 for norm weights
  float scale = 0.3f;  // standard deviation
};

std::vector<Tensor> Gpt2Tensors(const ModelConfig& c) {
  const int64_t d = c.hidden_size, ff = c.intermediate_size;
  std::vector<Tensor> t = {{"transformer.wte.weight", {c.vocab_size, d}},
                           {"transformer.wpe.weight", {c.max_positions, d}, 0.0f, 0.1f},
                           {"transformer.ln_f.weight", {d}, 1.0f, 0.1f},
                           {"transformer.ln_f.bias", {d}, 0.0f, 0.1f}};
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string h = fmt::format("transformer.h.{}.", i);
    t.push_back({h + "ln_1.weight", {d}, 1.0f, 0.1f});
    t.push_back({h + "ln_1.bias", {d}, 0.0f, 0.1f});
    t.push_back({h + "attn.c_attn.weight", {d, 3 * d}});
    t.push_back({h + "attn.c_attn.bias", {3 * d}});
    t.push_back({h + "attn.c_proj.weight", {d, d}});
    t.push_back({h + "attn.c_proj.bias", {d}});
    t.push_back({h + "ln_2.weight", {d}, 1.0f, 0.1f});
    t.push_back({h + "ln_2.bias", {d}, 0.0f, 0.1f});
    t.push_back({h + "mlp.c_fc.weight", {d, ff}});
    t.push_back({h + "mlp.c_fc.bias", {ff}});
    t.push_back({h + "mlp.c_proj.weight", {ff, d}});
    t.push_back({h + "mlp.c_proj.bias", {d}});
  }
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, d}});
  return t;
}

std::vector<Tensor> LlamaTensors(const ModelConfig& c) {
  const int64_t d = c.hidden_size, ff = c.intermediate_size;
  const int64_t q = static_cast<int64_t>(c.num_heads) * c.head_dim;
  const int64_t kv = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
  std::vector<Tensor> t = {{"model.embed_tokens.weight", {c.vocab_size, d}, 0.0f, 1.0f},
                           {"model.norm.weight", {d}, 1.0f, 0.1f}};
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string h = fmt::format("model.layers.{}.", i);
    t.push_back({h + "input_layernorm.weight", {d}, 1.0f, 0.1f});
    t.push_back({h + "self_attn.q_proj.weight", {q, d}});
    t.push_back({h + "self_attn.k_proj.weight", {kv, d}});
    t.push_back({h + "self_attn.v_proj.weight", {kv, d}});
    t.push_back({h + "self_attn.o_proj.weight", {d, q}});
    t.push_back({h + "post_attention_layernorm.weight", {d}, 1.0f, 0.1f});
    t.push_back({h + "mlp.gate_proj.weight", {ff, d}});
    t.push_back({h + "mlp.up_proj.weight", {ff, d}});
    t.push_back({h + "mlp.down_proj.weight", {d, ff}});
  }
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, d}});
  return t;
}

}  // namespace

ModelConfig TinyConfig(const std::string& arch, bool tied, const std::string& rope_type) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 37;
  c.hidden_size = 16;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = arch == "llama" ? 2 : 4;
  c.head_dim = 4;
  c.intermediate_size = arch == "llama" ? 24 : 64;
  c.max_positions = 64;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  if (!rope_type.empty()) {
    c.rope_scaling.type = rope_type;
    c.rope_scaling.factor = 8;
    c.rope_scaling.low_freq_factor = 1;
    c.rope_scaling.high_freq_factor = 4;
    c.rope_scaling.original_max_position_embeddings = 16;
  }
  c.tie_word_embeddings = tied;
  c.activation = arch == "llama" ? "silu" : "gelu_new";
  return c;
}

Result<std::unique_ptr<WeightFile>> RandomWeightFile(const ModelConfig& config, uint64_t seed) {
  const std::vector<Tensor> tensors =
      config.arch == "gpt2" ? Gpt2Tensors(config) : LlamaTensors(config);
  std::mt19937_64 rng(seed);
  std::string header = "{";
  std::vector<float> data;
  for (const Tensor& t : tensors) {
    int64_t n = 1;
    for (int64_t s : t.shape) n *= s;
    const size_t begin = data.size() * sizeof(float);
    std::normal_distribution<float> dist(t.mean, t.scale);
    for (int64_t i = 0; i < n; ++i) data.push_back(dist(rng));
    if (header.size() > 1) header += ",";
    header += fmt::format(R"("{}":{{"dtype":"F32","shape":[{}],"data_offsets":[{},{}]}})", t.name,
                          fmt::join(t.shape, ","), begin, data.size() * sizeof(float));
  }
  header += "}";
  std::vector<std::byte> bytes(8 + header.size() + data.size() * sizeof(float));
  const uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>((len >> (8 * i)) & 0xff);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  std::memcpy(bytes.data() + 8 + header.size(), data.data(), data.size() * sizeof(float));
  return WeightFile::FromBuffer(bytes);
}

Result<std::unique_ptr<Model>> RandomModel(const ModelConfig& config, uint64_t seed,
                                           int num_threads) {
  ASSIGN_OR_RETURN(auto file, RandomWeightFile(config, seed));
  LoadOptions options;
  options.num_threads = num_threads;
  return Model::FromWeightFile(config, *file, options);
}

}  // namespace inferline::engine::testing
