// Weights kept in bf16, f16 or int8: the logits stay close to the f32 model's, batching stays
// exact, and on the shipped model int8 costs at most 2% of held-out perplexity.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/model/model.h"
#include "engine/model/test_model.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {
namespace {

namespace fs = std::filesystem;
using ops::WeightDType;

fs::path SourceDir() {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  return root ? fs::path(root) : fs::path(".");
}

std::vector<float> LastLogits(const Model& m, std::span<const int32_t> ids) {
  auto cache = KvCache::Create(m.config(), static_cast<int64_t>(ids.size()));
  EXPECT_TRUE(cache.ok());
  std::vector<float> logits(m.config().vocab_size);
  SequenceStep step{cache->get(), 0, ids, LogitsMode::kLast, logits};
  Activations act;
  EXPECT_TRUE(m.Forward({&step, 1}, act).ok());
  return logits;
}

struct PrecisionCase {
  std::string arch;
  WeightDType dtype;
  float tolerance;  // max |logit - f32 logit| / (max - min of the f32 logits)
};

class PrecisionTest : public ::testing::TestWithParam<PrecisionCase> {};

TEST_P(PrecisionTest, LogitsStayCloseAndBatchingStaysExact) {
  const PrecisionCase c = GetParam();
  const ModelConfig config = testing::TinyConfig(c.arch);
  auto file = testing::RandomWeightFile(config, 9);
  ASSERT_TRUE(file.ok());
  auto f32 = Model::FromWeightFile(config, **file, {.num_threads = 2});
  auto low = Model::FromWeightFile(config, **file, {.num_threads = 2, .weight_dtype = c.dtype});
  ASSERT_TRUE(f32.ok() && low.ok()) << low.status().ToString();
  EXPECT_EQ((*low)->weight_dtype(), c.dtype);
  EXPECT_LT((*low)->weights().decode_bytes(), (*f32)->weights().decode_bytes());

  const std::vector<int32_t> a = {1, 5, 9, 2, 33, 7}, b = {4, 4, 20, 11};
  const auto want = LastLogits(**f32, a);
  const auto got = LastLogits(**low, a);
  float lo = want[0], hi = want[0], worst = 0;
  for (size_t v = 0; v < want.size(); ++v) {
    lo = std::min(lo, want[v]);
    hi = std::max(hi, want[v]);
    worst = std::max(worst, std::fabs(got[v] - want[v]));
  }
  EXPECT_LE(worst, c.tolerance * (hi - lo));
  EXPECT_GT(worst, 0.0f);  // the weights really changed

  // a and b together give each one's logits exactly.
  auto ca = KvCache::Create(config, 8), cb = KvCache::Create(config, 8);
  std::vector<float> la(config.vocab_size), lb(config.vocab_size);
  SequenceStep batch[] = {{ca->get(), 0, a, LogitsMode::kLast, la},
                          {cb->get(), 0, b, LogitsMode::kLast, lb}};
  Activations act;
  ASSERT_TRUE((*low)->Forward(batch, act).ok());
  EXPECT_EQ(la, got);
  EXPECT_EQ(lb, LastLogits(**low, b));
}

INSTANTIATE_TEST_SUITE_P(
    Dtypes, PrecisionTest,
    ::testing::Values(PrecisionCase{"gpt2", WeightDType::kBF16, 0.03f},
                      PrecisionCase{"gpt2", WeightDType::kF16, 0.005f},
                      PrecisionCase{"gpt2", WeightDType::kInt8, 0.03f},
                      PrecisionCase{"llama", WeightDType::kBF16, 0.03f},
                      PrecisionCase{"llama", WeightDType::kInt8, 0.03f}));

// Mean negative log-likelihood of `ids`, scored in windows of the model's context.
double MeanNll(const Model& m, std::span<const int32_t> ids) {
  const int64_t window = m.config().max_positions, vocab = m.config().vocab_size;
  auto cache = KvCache::Create(m.config(), window);
  EXPECT_TRUE(cache.ok());
  Activations act;
  std::vector<float> logits;
  double total = 0;
  int64_t count = 0;
  for (int64_t s = 0; s + 1 < static_cast<int64_t>(ids.size()); s += window) {
    const int64_t n = std::min<int64_t>(window, static_cast<int64_t>(ids.size()) - s);
    logits.resize(n * vocab);
    (*cache)->Truncate(0);
    SequenceStep step{cache->get(), 0, ids.subspan(s, n), LogitsMode::kAll, logits};
    EXPECT_TRUE(m.Forward({&step, 1}, act).ok());
    for (int64_t i = 0; i + 1 < n; ++i) {  // row i predicts token s + i + 1 in the window
      const float* row = logits.data() + i * vocab;
      const double mx = *std::max_element(row, row + vocab);
      double sum = 0;
      for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - mx);
      total += -(row[ids[s + i + 1]] - mx - std::log(sum));
      ++count;
    }
  }
  return total / static_cast<double>(count);
}

TEST(Int8PerplexityTest, ShippedModelLosesAtMostTwoPercentOnHeldOutText) {
  const fs::path dir = SourceDir() / "models" / "kjv-small";
  std::ifstream in(SourceDir() / "src/engine/model/testdata/kjv_heldout.txt");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_GT(text.str().size(), 3000u);
  auto tok = Tokenizer::Load(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<int32_t> ids = (*tok)->Encode(text.str());
  auto f32 = Model::Load(dir, {.num_threads = 2});
  auto int8 = Model::Load(dir, {.num_threads = 2, .weight_dtype = WeightDType::kInt8});
  ASSERT_TRUE(f32.ok() && int8.ok()) << int8.status().ToString();
  const double ppl32 = std::exp(MeanNll(**f32, ids));
  const double ppl8 = std::exp(MeanNll(**int8, ids));
  RecordProperty("perplexity_f32", std::to_string(ppl32));
  RecordProperty("perplexity_int8", std::to_string(ppl8));
  EXPECT_GT(ppl32, 10.0);  // a real text, not a degenerate one
  EXPECT_LT(ppl32, 200.0);
  EXPECT_LE(std::fabs(ppl8 - ppl32) / ppl32, 0.02) << "f32 " << ppl32 << " int8 " << ppl8;
  EXPECT_NE(ppl8, ppl32);
}

}  // namespace
}  // namespace inferline::engine
