// A GPT-2 folder with random weights, written straight to disk tensor by tensor (the f32 file
// of a 124M model is 500 MB; it never sits in memory twice).
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "bench/engine/engine_bench.h"

namespace inferline::engine::bench {
namespace {

namespace fs = std::filesystem;

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  float mean;   // 1 for norm weights
  float scale;  // half-width of the uniform distribution (0: constant)
};

std::vector<Tensor> Tensors(const Gpt2Shape& s) {
  const int64_t d = s.hidden, ff = 4 * d;
  // GPT-2's initialisation: std 0.02 (uniform of the same std here); projections into the
  // residual stream scaled by 1/sqrt(2 * layers).
  const float a = 0.02f * std::sqrt(3.0f);
  const float proj = a / std::sqrt(2.0f * s.layers);
  std::vector<Tensor> t = {{"transformer.wte.weight", {s.vocab, d}, 0, a},
                           {"transformer.wpe.weight", {s.context, d}, 0, a / 2}};
  for (int i = 0; i < s.layers; ++i) {
    const std::string h = fmt::format("transformer.h.{}.", i);
    t.push_back({h + "ln_1.weight", {d}, 1, 0});
    t.push_back({h + "ln_1.bias", {d}, 0, 0});
    t.push_back({h + "attn.c_attn.weight", {d, 3 * d}, 0, a});
    t.push_back({h + "attn.c_attn.bias", {3 * d}, 0, 0});
    t.push_back({h + "attn.c_proj.weight", {d, d}, 0, proj});
    t.push_back({h + "attn.c_proj.bias", {d}, 0, 0});
    t.push_back({h + "ln_2.weight", {d}, 1, 0});
    t.push_back({h + "ln_2.bias", {d}, 0, 0});
    t.push_back({h + "mlp.c_fc.weight", {d, ff}, 0, a});
    t.push_back({h + "mlp.c_fc.bias", {ff}, 0, 0});
    t.push_back({h + "mlp.c_proj.weight", {ff, d}, 0, proj});
    t.push_back({h + "mlp.c_proj.bias", {d}, 0, 0});
  }
  t.push_back({"transformer.ln_f.weight", {d}, 1, 0});
  t.push_back({"transformer.ln_f.bias", {d}, 0, 0});
  return t;
}

int64_t Numel(const Tensor& t) {
  int64_t n = 1;
  for (int64_t s : t.shape) n *= s;
  return n;
}

std::string ConfigJson(const Gpt2Shape& s, uint64_t seed) {
  return fmt::format(
      R"({{
  "architectures": ["GPT2LMHeadModel"],
  "model_type": "gpt2",
  "vocab_size": {},
  "n_positions": {},
  "n_ctx": {},
  "n_embd": {},
  "n_layer": {},
  "n_head": {},
  "n_inner": null,
  "activation_function": "gelu_new",
  "layer_norm_epsilon": 1e-05,
  "tie_word_embeddings": true,
  "bos_token_id": {},
  "eos_token_id": {},
  "torch_dtype": "float32",
  "inferline_random_seed": {}
}}
)",
      s.vocab, s.context, s.context, s.hidden, s.layers, s.heads, s.vocab - 1, s.vocab - 1, seed);
}

// xorshift64*: fast and good enough for weights whose values only need to look like weights.
struct Rng {
  uint64_t state;
  float Uniform() {  // [-1, 1)
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    const uint64_t r = state * 0x2545F4914F6CDD1DULL;
    return static_cast<float>(r >> 40) / static_cast<float>(1 << 23) - 1.0f;
  }
};

}  // namespace

Status WriteRandomGpt2(const std::string& dir_name, const Gpt2Shape& shape, uint64_t seed) {
  const fs::path dir(dir_name);
  const std::string config = ConfigJson(shape, seed);
  const std::vector<Tensor> tensors = Tensors(shape);
  std::string header = "{";
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    if (header.size() > 1) header += ",";
    const int64_t bytes = Numel(t) * 4;
    header += fmt::format(R"("{}":{{"dtype":"F32","shape":[{}],"data_offsets":[{},{}]}})",
                          t.name, fmt::join(t.shape, ","), offset, offset + bytes);
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  const uintmax_t file_size = 8 + header.size() + offset;

  std::error_code ec;
  std::ifstream existing(dir / "config.json");
  std::stringstream have;
  have << existing.rdbuf();
  if (have.str() == config && fs::file_size(dir / "model.safetensors", ec) == file_size && !ec) {
    return Status::Ok();  // already there
  }
  fs::create_directories(dir, ec);
  if (ec) return Internal(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  std::ofstream w(dir / "model.safetensors", std::ios::binary | std::ios::trunc);
  const uint64_t len = header.size();
  char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  w.write(len_bytes, 8);
  w.write(header.data(), static_cast<std::streamsize>(header.size()));
  Rng rng{seed * 0x9E3779B97F4A7C15ULL + 1};
  std::vector<float> buf;
  for (const Tensor& t : tensors) {
    buf.resize(Numel(t));
    for (float& v : buf) v = t.mean + (t.scale != 0 ? t.scale * rng.Uniform() : 0.0f);
    w.write(reinterpret_cast<const char*>(buf.data()),
            static_cast<std::streamsize>(buf.size() * sizeof(float)));
  }
  std::ofstream(dir / "config.json") << config;
  if (!w.good()) return Internal(fmt::format("writing {} failed", dir.string()));
  return Status::Ok();
}

}  // namespace inferline::engine::bench
