// Properties of the forward pass that hold for any weights, checked on small random models:
// batching, KV caching and chunked prefill change nothing; bad inputs get clear errors.
#include "engine/model/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "engine/model/test_model.h"

namespace inferline::engine {
namespace {

using testing::RandomModel;
using testing::TinyConfig;

float MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> Tokens(int n, int seed, int vocab) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = (seed * 7 + i * 13 + i * i) % vocab;
  return t;
}

struct Variant {
  std::string arch;
  bool tied;
  std::string rope;
};

class ModelPropertyTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    const Variant v = GetParam();
    auto m = RandomModel(TinyConfig(v.arch, v.tied, v.rope), 42);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
    vocab_ = model_->config().vocab_size;
  }
  std::unique_ptr<KvCache> NewCache(int64_t capacity = 64) {
    auto c = KvCache::Create(model_->config(), capacity);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  // Logits of every token of `ids` from one prefill.
  std::vector<float> PrefillAll(std::span<const int32_t> ids) {
    auto cache = NewCache();
    std::vector<float> logits(ids.size() * vocab_);
    SequenceStep step{cache.get(), 0, ids, LogitsMode::kAll, logits};
    EXPECT_TRUE(model_->Forward({&step, 1}, act_).ok());
    return logits;
  }

  std::unique_ptr<Model> model_;
  int vocab_ = 0;
  Activations act_;
};

TEST_P(ModelPropertyTest, PrefillEqualsTokenByTokenDecode) {
  const auto ids = Tokens(11, 1, vocab_);
  const auto all = PrefillAll(ids);
  auto cache = NewCache();
  std::vector<float> logits(vocab_);
  for (size_t i = 0; i < ids.size(); ++i) {
    SequenceStep step{cache.get(), static_cast<int64_t>(i), std::span(ids).subspan(i, 1),
                      LogitsMode::kLast, logits};
    ASSERT_TRUE(model_->Forward({&step, 1}, act_).ok());
    EXPECT_LT(MaxAbsDiff(logits, std::span(all).subspan(i * vocab_, vocab_)), 1e-4f) << i;
  }
  EXPECT_EQ(cache->length(), 11);
}

TEST_P(ModelPropertyTest, ChunkedPrefillEqualsWholePrefill) {
  const auto ids = Tokens(12, 2, vocab_);
  const auto all = PrefillAll(ids);
  auto cache = NewCache();
  SequenceStep first{cache.get(), 0, std::span(ids).subspan(0, 5), LogitsMode::kNone, {}};
  ASSERT_TRUE(model_->Forward({&first, 1}, act_).ok());
  std::vector<float> last(vocab_);
  SequenceStep rest{cache.get(), 5, std::span(ids).subspan(5), LogitsMode::kLast, last};
  ASSERT_TRUE(model_->Forward({&rest, 1}, act_).ok());
  EXPECT_LT(MaxAbsDiff(last, std::span(all).subspan(11 * vocab_, vocab_)), 1e-4f);
}

TEST_P(ModelPropertyTest, BatchOfSequencesEqualsEachAlone) {
  // Three sequences in different states: a fresh prefill, a decode step after a 6-token
  // prompt, and a second prefill chunk wanting every position's logits.
  const auto a = Tokens(7, 3, vocab_);
  const auto b = Tokens(7, 4, vocab_);
  const auto c = Tokens(9, 5, vocab_);
  auto prepare = [&](KvCache& cache, std::span<const int32_t> prefix) {
    if (prefix.empty()) return;
    SequenceStep s{&cache, 0, prefix, LogitsMode::kNone, {}};
    ASSERT_TRUE(model_->Forward({&s, 1}, act_).ok());
  };
  struct Seq {
    std::span<const int32_t> prefix, step;
    LogitsMode mode;
  };
  const std::vector<Seq> seqs = {
      {{}, a, LogitsMode::kLast},
      {std::span(b).subspan(0, 6), std::span(b).subspan(6), LogitsMode::kLast},
      {std::span(c).subspan(0, 4), std::span(c).subspan(4), LogitsMode::kAll}};
  auto rows = [&](const Seq& s) { return s.mode == LogitsMode::kAll ? s.step.size() : 1; };
  std::vector<std::vector<float>> alone;
  for (const Seq& s : seqs) {
    auto cache = NewCache();
    prepare(*cache, s.prefix);
    alone.emplace_back(rows(s) * vocab_);
    SequenceStep step{cache.get(), static_cast<int64_t>(s.prefix.size()), s.step, s.mode,
                      alone.back()};
    ASSERT_TRUE(model_->Forward({&step, 1}, act_).ok());
  }
  std::vector<std::unique_ptr<KvCache>> caches;
  std::vector<std::vector<float>> together;
  std::vector<SequenceStep> batch;
  for (const Seq& s : seqs) {
    caches.push_back(NewCache());
    prepare(*caches.back(), s.prefix);
    together.emplace_back(rows(s) * vocab_);
  }
  for (size_t i = 0; i < seqs.size(); ++i) {
    batch.push_back({caches[i].get(), static_cast<int64_t>(seqs[i].prefix.size()), seqs[i].step,
                     seqs[i].mode, together[i]});
  }
  ASSERT_TRUE(model_->Forward(batch, act_).ok());
  for (size_t i = 0; i < seqs.size(); ++i) {
    // Bit for bit: the kernels compute a row the same way whatever else is in the batch.
    EXPECT_EQ(together[i], alone[i]) << "sequence " << i;
    EXPECT_EQ(caches[i]->length(),
              static_cast<int64_t>(seqs[i].prefix.size() + seqs[i].step.size()));
  }
}

TEST_P(ModelPropertyTest, RewindingTheCacheRecomputesTheSameLogits) {
  const auto ids = Tokens(8, 6, vocab_);
  const auto all = PrefillAll(ids);
  auto cache = NewCache();
  SequenceStep s{cache.get(), 0, ids, LogitsMode::kNone, {}};
  ASSERT_TRUE(model_->Forward({&s, 1}, act_).ok());
  // Replace the last three tokens with themselves again from position 5.
  std::vector<float> logits(3 * vocab_);
  SequenceStep again{cache.get(), 5, std::span(ids).subspan(5), LogitsMode::kAll, logits};
  ASSERT_TRUE(model_->Forward({&again, 1}, act_).ok());
  EXPECT_LT(MaxAbsDiff(logits, std::span(all).subspan(5 * vocab_)), 1e-4f);
}

TEST_P(ModelPropertyTest, LogitsAreFiniteAndDistinct) {
  const auto ids = Tokens(5, 7, vocab_);
  const auto all = PrefillAll(ids);
  for (float v : all) ASSERT_TRUE(std::isfinite(v));
  EXPECT_GT(MaxAbsDiff(std::span(all).subspan(0, vocab_), std::span(all).subspan(vocab_, vocab_)),
            1e-3f);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ModelPropertyTest,
                         ::testing::Values(Variant{"gpt2", true, ""}, Variant{"llama", true, ""},
                                           Variant{"llama", false, "llama3"}),
                         [](const auto& info) {
                           return info.param.arch + (info.param.tied ? "_tied" : "_untied") +
                                  (info.param.rope.empty() ? "" : "_" + info.param.rope);
                         });

class ModelValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = RandomModel(TinyConfig("llama"), 1, 1);
    ASSERT_TRUE(m.ok());
    model_ = std::move(*m);
    auto c = KvCache::Create(model_->config(), 8);
    ASSERT_TRUE(c.ok());
    cache_ = std::move(*c);
    logits_.resize(model_->config().vocab_size);
  }
  Status Run(SequenceStep step) { return model_->Forward({&step, 1}, act_); }
  void ExpectInvalid(SequenceStep step, std::string_view needle) {
    const int64_t before = cache_->length();
    Status s = Run(step);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
    EXPECT_EQ(cache_->length(), before);
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<KvCache> cache_;
  std::vector<float> logits_;
  Activations act_;
};

TEST_F(ModelValidationTest, RejectsBadSteps) {
  const std::vector<int32_t> ok = {1, 2, 3};
  const std::vector<int32_t> bad_id = {1, 37};
  const std::vector<int32_t> negative = {-1};
  const std::vector<int32_t> nine(9, 1);
  ExpectInvalid({cache_.get(), 0, bad_id, LogitsMode::kLast, logits_}, "token id 37");
  ExpectInvalid({cache_.get(), 0, negative, LogitsMode::kLast, logits_}, "token id -1");
  ExpectInvalid({cache_.get(), 0, {}, LogitsMode::kLast, logits_}, "no tokens");
  ExpectInvalid({nullptr, 0, ok, LogitsMode::kLast, logits_}, "no KV cache");
  ExpectInvalid({cache_.get(), 1, ok, LogitsMode::kLast, logits_}, "start position 1");
  ExpectInvalid({cache_.get(), 0, nine, LogitsMode::kLast, logits_}, "KV cache capacity");
  ExpectInvalid({cache_.get(), 0, ok, LogitsMode::kAll, logits_}, "logits span");
  ExpectInvalid({cache_.get(), 0, ok, LogitsMode::kNone, logits_}, "logits span");

  auto wrong_shape = KvCache::Create(KvCacheShape{1, 2, 4}, 8);
  ASSERT_TRUE(wrong_shape.ok());
  ExpectInvalid({wrong_shape->get(), 0, ok, LogitsMode::kLast, logits_}, "shape");

  std::vector<float> l2(logits_.size());
  std::vector<SequenceStep> twice = {{cache_.get(), 0, ok, LogitsMode::kLast, logits_},
                                     {cache_.get(), 0, ok, LogitsMode::kLast, l2}};
  EXPECT_EQ(model_->Forward(twice, act_).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Run({cache_.get(), 0, ok, LogitsMode::kLast, logits_}).ok());
}

TEST_F(ModelValidationTest, RejectsPositionsPastTheModelContext) {
  auto cfg = TinyConfig("gpt2");
  cfg.max_positions = 4;
  auto m = RandomModel(cfg, 3, 1);
  ASSERT_TRUE(m.ok());
  auto big = KvCache::Create(KvCacheShape{cfg.num_layers, cfg.num_kv_heads, cfg.head_dim}, 10);
  ASSERT_TRUE(big.ok());
  const std::vector<int32_t> five(5, 0);
  std::vector<float> logits(cfg.vocab_size);
  SequenceStep step{big->get(), 0, five, LogitsMode::kLast, logits};
  Status s = (*m)->Forward({&step, 1}, act_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("context of 4"), std::string::npos) << s.message();
}

TEST(ModelLoadTest, MissingTensorIsNamed) {
  auto cfg = TinyConfig("llama", /*tied=*/true);
  auto file = testing::RandomWeightFile(cfg, 1);
  ASSERT_TRUE(file.ok());
  cfg.tie_word_embeddings = false;  // now lm_head.weight is required but absent
  auto m = Model::FromWeightFile(cfg, **file, {});
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("lm_head.weight"), std::string::npos);
}

TEST(ModelLoadTest, WrongShapeAndUnknownArchitecture) {
  auto cfg = TinyConfig("gpt2");
  auto file = testing::RandomWeightFile(cfg, 1);
  ASSERT_TRUE(file.ok());
  auto bigger = cfg;
  bigger.intermediate_size = 32;
  EXPECT_EQ(Model::FromWeightFile(bigger, **file, {}).status().code(),
            StatusCode::kInvalidArgument);
  auto other = cfg;
  other.arch = "mamba";
  EXPECT_EQ(Model::FromWeightFile(other, **file, {}).status().code(), StatusCode::kUnimplemented);
  auto bad_heads = TinyConfig("llama");
  bad_heads.num_kv_heads = 3;
  EXPECT_EQ(Model::FromWeightFile(bad_heads, **file, {}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ModelLoadTest, MissingFolderFails) {
  auto m = Model::Load("/nonexistent/model/dir", {});
  EXPECT_FALSE(m.ok());
}

}  // namespace
}  // namespace inferline::engine
