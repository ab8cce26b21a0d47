// The model folders in the repository (the shipped model and the golden test models) open
// cleanly: config, generation defaults and every tensor.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/io/model_config.h"
#include "engine/io/safetensors.h"

namespace inferline::engine {
namespace {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("INFERLINE_SOURCE_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

// Opens the folder, converts every tensor and returns the embedding table's shape.
std::vector<int64_t> CheckFolder(const std::filesystem::path& dir, const ModelConfig& cfg) {
  auto wf = WeightFile::OpenFolder(dir);
  EXPECT_TRUE(wf.ok()) << wf.status().ToString();
  if (!wf.ok()) return {};
  std::vector<int64_t> embed_shape;
  std::vector<float> buf;
  for (const auto& name : (*wf)->Names()) {
    auto t = (*wf)->Get(name);
    EXPECT_TRUE(t.ok()) << name << ": " << t.status().ToString();
    if (!t.ok()) continue;
    buf.assign(static_cast<size_t>(t->numel()), 0.0f);
    ConvertToF32(*t, buf);
    EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](float v) { return std::isfinite(v); }))
        << name;
    if (name.find(cfg.arch == "gpt2" ? "wte.weight" : "embed_tokens.weight") != std::string::npos) {
      embed_shape = t->shape;
    }
  }
  return embed_shape;
}

TEST(ModelFolderTest, ShippedKjvSmall) {
  const auto dir = SourceDir() / "models/kjv-small";
  auto cfg = LoadModelConfig(dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->arch, "gpt2");
  EXPECT_EQ(cfg->intermediate_size, 4 * cfg->hidden_size);  // n_inner: null
  EXPECT_THAT(cfg->eos_token_ids, ::testing::ElementsAre(4095));
  auto gen = LoadGenerationConfig(dir);
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  EXPECT_EQ(gen->do_sample, true);
  EXPECT_EQ(gen->top_k, 40);
  EXPECT_THAT(CheckFolder(dir, *cfg), ::testing::ElementsAre(cfg->vocab_size, cfg->hidden_size));
}

TEST(ModelFolderTest, GoldenModels) {
  for (const char* name :
       {"gpt2-tiny", "gpt2-tiny-f16", "llama-tiny", "llama-tiny-bf16", "llama3-tiny"}) {
    const auto dir = SourceDir() / "tests/golden/models" / name;
    auto cfg = LoadModelConfig(dir);
    ASSERT_TRUE(cfg.ok()) << name << ": " << cfg.status().ToString();
    EXPECT_THAT(CheckFolder(dir, *cfg), ::testing::ElementsAre(cfg->vocab_size, cfg->hidden_size))
        << name;
    if (std::string(name) == "llama3-tiny") {
      EXPECT_EQ(cfg->rope_scaling.type, "llama3");
      EXPECT_EQ(cfg->rope_scaling.original_max_position_embeddings, 64);
      EXPECT_TRUE(cfg->tie_word_embeddings);
    }
    if (std::string(name) == "llama-tiny") {
      EXPECT_EQ(cfg->num_kv_heads, 2);
      EXPECT_EQ(cfg->head_dim, 16);
    }
  }
}

}  // namespace
}  // namespace inferline::engine
