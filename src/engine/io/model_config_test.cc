#include "engine/io/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferline::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ModelConfigTest, Gpt2WithDefaults) {
  auto c = ParseModelConfig(R"({"architectures":["GPT2LMHeadModel"],"model_type":"gpt2",
    "vocab_size":50257,"n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"n_inner":null,
    "layer_norm_epsilon":1e-05,"activation_function":"gelu_new","bos_token_id":50256,
    "eos_token_id":50256})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, "gpt2");
  EXPECT_EQ(c->vocab_size, 50257);
  EXPECT_EQ(c->hidden_size, 768);
  EXPECT_EQ(c->num_layers, 12);
  EXPECT_EQ(c->num_heads, 12);
  EXPECT_EQ(c->num_kv_heads, 12);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->intermediate_size, 3072);
  EXPECT_EQ(c->max_positions, 1024);
  EXPECT_FLOAT_EQ(c->norm_eps, 1e-5f);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->activation, "gelu_new");
  EXPECT_EQ(c->bos_token_id, 50256);
  EXPECT_THAT(c->eos_token_ids, ElementsAre(50256));
}

TEST(ModelConfigTest, Llama3WithRopeScalingAndEosList) {
  auto c = ParseModelConfig(R"({"architectures":["LlamaForCausalLM"],"model_type":"llama",
    "vocab_size":128256,"hidden_size":2048,"num_hidden_layers":16,"num_attention_heads":32,
    "num_key_value_heads":8,"intermediate_size":8192,"max_position_embeddings":131072,
    "rms_norm_eps":1e-05,"rope_theta":500000.0,"tie_word_embeddings":true,"head_dim":64,
    "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
      "original_max_position_embeddings":8192,"rope_type":"llama3"},
    "bos_token_id":128000,"eos_token_id":[128001,128008,128009]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, "llama");
  EXPECT_EQ(c->num_kv_heads, 8);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_FLOAT_EQ(c->rope_theta, 500000.0f);
  EXPECT_EQ(c->rope_scaling.type, "llama3");
  EXPECT_FLOAT_EQ(c->rope_scaling.factor, 32.0f);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->activation, "silu");
  EXPECT_THAT(c->eos_token_ids, ElementsAre(128001, 128008, 128009));
}

TEST(ModelConfigTest, LlamaDefaults) {
  auto c = ParseModelConfig(R"({"model_type":"llama","vocab_size":32000,"hidden_size":64,
    "num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":128,
    "rope_scaling":{"type":"linear","factor":2}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->num_kv_heads, 4);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_FLOAT_EQ(c->norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c->rope_theta, 10000.0f);
  EXPECT_EQ(c->rope_scaling.type, "linear");
  EXPECT_FLOAT_EQ(c->rope_scaling.factor, 2.0f);
  EXPECT_FALSE(c->bos_token_id.has_value());
  EXPECT_TRUE(c->eos_token_ids.empty());
}

TEST(ModelConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* expect;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"[1]", "not a JSON object"},
      {R"({"model_type":"bert"})", "unsupported model"},
      {R"({"model_type":"gpt2","vocab_size":10,"n_layer":1,"n_head":1})", "'n_embd'"},
      {R"({"model_type":"gpt2","vocab_size":10,"n_embd":"big","n_layer":1,"n_head":1})",
       "'n_embd' must be an integer"},
      {R"({"model_type":"gpt2","vocab_size":-3,"n_embd":8,"n_layer":1,"n_head":1})",
       "'vocab_size' is -3"},
      {R"({"model_type":"gpt2","vocab_size":10,"n_embd":10,"n_layer":1,"n_head":3,
         "n_positions":8})",
       "'n_embd' (10) is not divisible by 'n_head' (3)"},
      {R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
         "num_attention_heads":4,"num_key_value_heads":3,"intermediate_size":8})",
       "'num_key_value_heads'"},
      {R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
         "num_attention_heads":4,"intermediate_size":8,"rope_scaling":{"rope_type":"yarn"}})",
       "'rope_type' 'yarn'"},
      {R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
         "num_attention_heads":4,"intermediate_size":8,"rms_norm_eps":-1})",
       "'rms_norm_eps' must be positive"},
      {R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
         "num_attention_heads":4,"intermediate_size":8,"eos_token_id":"x"})",
       "'eos_token_id'"},
      {R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
         "num_attention_heads":4,"intermediate_size":8,"tie_word_embeddings":1})",
       "'tie_word_embeddings' must be a boolean"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_THAT(r.status().message(), HasSubstr(c.expect)) << c.json;
  }
}

TEST(ModelConfigTest, LoadsFromFolderAndReportsMissingFile) {
  auto missing = LoadModelConfig("/nonexistent/model");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("config.json"));
}

TEST(GenerationConfigTest, ParsesAndDefaultsToEmpty) {
  auto g = ParseGenerationConfig(R"({"do_sample":true,"temperature":0.6,"top_p":0.9,
    "top_k":50,"max_new_tokens":256,"eos_token_id":[1,2],"bos_token_id":0,
    "repetition_penalty":1.1,"transformers_version":"4.40"})");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->do_sample, true);
  EXPECT_FLOAT_EQ(*g->temperature, 0.6f);
  EXPECT_FLOAT_EQ(*g->top_p, 0.9f);
  EXPECT_FLOAT_EQ(*g->repetition_penalty, 1.1f);
  EXPECT_EQ(g->top_k, 50);
  EXPECT_EQ(g->max_new_tokens, 256);
  EXPECT_FALSE(g->max_length.has_value());
  EXPECT_THAT(g->eos_token_ids, ElementsAre(1, 2));
  EXPECT_EQ(g->bos_token_id, 0);

  auto absent = LoadGenerationConfig("/nonexistent/model");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->temperature.has_value());
  EXPECT_TRUE(absent->eos_token_ids.empty());

  auto bad = ParseGenerationConfig(R"({"temperature":"hot"})");
  EXPECT_THAT(bad.status().message(), HasSubstr("'temperature' must be a number"));
}

}  // namespace
}  // namespace inferline::engine
