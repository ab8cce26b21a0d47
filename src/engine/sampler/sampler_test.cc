#include "engine/sampler/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace inferline::engine {
namespace {

std::vector<float> RandomLogits(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<double> NaiveSoftmax(const std::vector<float>& l) {
  double mx = *std::max_element(l.begin(), l.end()), sum = 0;
  std::vector<double> p(l.size());
  for (size_t i = 0; i < l.size(); ++i) sum += p[i] = std::exp(l[i] - mx);
  for (double& x : p) x /= sum;
  return p;
}

TEST(SamplingParamsTest, ValidationNamesTheParameter) {
  auto bad = [](SamplingParams p) { return ValidateSamplingParams(p); };
  EXPECT_TRUE(bad({}).ok());
  EXPECT_TRUE(bad({.temperature = 0.0f}).ok());
  EXPECT_EQ(bad({.temperature = -0.1f}).param(), "temperature");
  EXPECT_EQ(bad({.temperature = NAN}).param(), "temperature");
  EXPECT_EQ(bad({.top_p = 0.0f}).param(), "top_p");
  EXPECT_EQ(bad({.top_p = 1.5f}).param(), "top_p");
  EXPECT_EQ(bad({.top_k = -1}).param(), "top_k");
  EXPECT_EQ(bad({.repetition_penalty = 0.0f}).param(), "repetition_penalty");
  EXPECT_EQ(bad({.repetition_penalty = INFINITY}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(bad({.presence_penalty = -2.0f, .frequency_penalty = 2.0f}).ok());
  EXPECT_EQ(bad({.presence_penalty = 2.5f}).param(), "presence_penalty");
  EXPECT_EQ(bad({.frequency_penalty = NAN}).param(), "frequency_penalty");
}

TEST(PresenceFrequencyPenaltyTest, MatchesOpenAiDefinition) {
  const auto orig = RandomLogits(20, 2);
  std::vector<int32_t> counts(20, 0);
  counts[3] = 3;
  counts[5] = 1;
  const std::vector<int32_t> distinct = {3, 5, 25, -1};  // out-of-range ids are ignored
  auto got = orig;
  sampling::ApplyPresenceFrequencyPenalty(got, distinct, counts, 0.5f, 0.25f);
  for (int i = 0; i < 20; ++i) {
    float want = orig[i];
    if (i == 3) want -= 3 * 0.25f + 0.5f;
    if (i == 5) want -= 1 * 0.25f + 0.5f;
    EXPECT_FLOAT_EQ(got[i], want) << i;
  }
}

TEST(PresenceFrequencyPenaltyTest, CountsOnlyTheTokensTheSamplerProduced) {
  // Greedy on fixed logits repeats token 0 forever; a presence penalty larger than the gap
  // moves it on to the next best token after the first, and never back while penalised.
  const std::vector<float> base = {3.0f, 2.5f, 2.0f, 0.0f};
  const std::vector<int32_t> prompt = {0, 0, 0};  // the prompt does not count
  Sampler plain({.temperature = 0.0f});
  Sampler presence({.temperature = 0.0f, .presence_penalty = 1.0f});
  std::vector<int32_t> got;
  for (int i = 0; i < 4; ++i) {
    auto l = base;
    EXPECT_EQ(plain.Sample(l, prompt), 0);
    l = base;
    got.push_back(presence.Sample(l, prompt));
  }
  // 0 (3.0); then 1 (2.5 > 3 - 1); then 0 again (3 - 1 = 2.0 ties token 2, lower id wins, and
  // 1 is down to 1.5); then 0 once more: a presence penalty does not grow with repeats.
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 0, 0}));
  // A frequency penalty does: token 0 is worth 3, 2, 2 (tie, lower id), then 1 < 2 (token 2).
  Sampler frequency({.temperature = 0.0f, .frequency_penalty = 1.0f});
  got.clear();
  for (int i = 0; i < 4; ++i) {
    auto l = base;
    got.push_back(frequency.Sample(l, {}));
  }
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 0, 2}));
}

TEST(RepetitionPenaltyTest, MatchesHuggingFaceDefinition) {
  const auto orig = RandomLogits(50, 1);
  const std::vector<int32_t> prev = {3, 7, 3, 3, 49, 0, 7, -5, 50, 1000};
  auto got = orig;
  sampling::ApplyRepetitionPenalty(got, prev, 1.3f);
  const std::set<int32_t> seen = {0, 3, 7, 49};
  for (int i = 0; i < 50; ++i) {
    float want = orig[i];
    if (seen.contains(i)) want = want > 0 ? want / 1.3f : want * 1.3f;  // once per token
    EXPECT_FLOAT_EQ(got[i], want) << i;
  }
}

TEST(GreedyTest, ArgMaxWithLowestIdOnTiesAndPenaltyApplied) {
  Sampler s({.temperature = 0.0f});
  std::vector<float> l = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(s.Sample(l, {}), 1);
  Sampler penalised({.temperature = 0.0f, .repetition_penalty = 2.0f});
  l = {1.0f, 3.0f, 2.9f, 2.0f};
  const std::vector<int32_t> prev = {1};
  EXPECT_EQ(penalised.Sample(l, prev), 2);  // 3 / 2 = 1.5 < 2.9
}

TEST(CandidatesTest, TopKKeepsTheKHighest) {
  for (int k : {1, 3, 10, 64, 100}) {
    const auto l = RandomLogits(64, 10 + k);
    std::vector<int32_t> ids;
    std::vector<float> probs;
    sampling::Candidates(l, k, 1.0f, ids, probs);
    std::vector<int32_t> order(64);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return l[a] > l[b]; });
    const size_t want_n = std::min<size_t>(k, 64);
    ASSERT_EQ(ids.size(), want_n);
    std::set<int32_t> got(ids.begin(), ids.end());
    std::set<int32_t> want(order.begin(), order.begin() + want_n);
    EXPECT_EQ(got, want) << "k=" << k;
    // Renormalised softmax over the survivors.
    std::vector<float> kept;
    for (int32_t id : ids) kept.push_back(l[id]);
    const auto p = NaiveSoftmax(kept);
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_NEAR(probs[i], p[i], 1e-6);
  }
}

TEST(CandidatesTest, TopPKeepsTheSmallestSetReachingP) {
  for (float top_p : {0.05f, 0.3f, 0.5f, 0.9f, 0.999f}) {
    const auto l = RandomLogits(40, 100);
    std::vector<int32_t> ids;
    std::vector<float> probs;
    sampling::Candidates(l, 0, top_p, ids, probs);
    // Naive: sort probabilities descending and take until the sum reaches top_p.
    const auto p = NaiveSoftmax(l);
    std::vector<int32_t> order(40);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    std::vector<int32_t> want;
    double cum = 0;
    for (int32_t id : order) {
      want.push_back(id);
      cum += p[id];
      if (cum >= top_p) break;
    }
    EXPECT_EQ(ids, want) << "top_p=" << top_p;
    EXPECT_NEAR(std::accumulate(probs.begin(), probs.end(), 0.0), 1.0, 1e-5);
  }
}

TEST(CandidatesTest, AlwaysKeepsAtLeastOne) {
  const std::vector<float> l = {10.0f, 0.0f, 0.0f};
  std::vector<int32_t> ids;
  std::vector<float> probs;
  sampling::Candidates(l, 0, 1e-9f, ids, probs);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], 0);
  EXPECT_FLOAT_EQ(probs[0], 1.0f);
}

TEST(CandidatesTest, TopKThenTopPRenormalisesInBetween) {
  // After top-2 the probabilities are 0.5 / 0.5, so top_p 0.5 keeps exactly one token.
  const std::vector<float> l = {1.0f, 1.0f, 0.9f, 0.8f};
  std::vector<int32_t> ids;
  std::vector<float> probs;
  sampling::Candidates(l, 2, 0.5f, ids, probs);
  EXPECT_EQ(ids, std::vector<int32_t>{0});
}

TEST(DrawTest, PicksByCumulativeProbability) {
  const std::vector<float> p = {0.25f, 0.0f, 0.5f, 0.25f};
  EXPECT_EQ(sampling::Draw(p, 0.0), 0u);
  EXPECT_EQ(sampling::Draw(p, 0.2499), 0u);
  EXPECT_EQ(sampling::Draw(p, 0.25), 2u);  // zero-probability entry skipped
  EXPECT_EQ(sampling::Draw(p, 0.7499), 2u);
  EXPECT_EQ(sampling::Draw(p, 0.99999), 3u);
  EXPECT_EQ(sampling::Draw(std::vector<float>{0.5f, 0.4999f, 0.0f}, 0.99999), 1u);
}

std::vector<int32_t> SampleMany(const SamplingParams& params, int n) {
  Sampler s(params);
  const auto base = RandomLogits(30, 5);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    auto l = base;
    out.push_back(s.Sample(l, out));
  }
  return out;
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const SamplingParams p{
      .temperature = 1.2f, .top_p = 0.95f, .top_k = 20, .repetition_penalty = 1.1f, .seed = 1234};
  EXPECT_EQ(SampleMany(p, 50), SampleMany(p, 50));
  SamplingParams q = p;
  q.seed = 1235;
  EXPECT_NE(SampleMany(p, 50), SampleMany(q, 50));
  EXPECT_EQ(Sampler(p).seed(), 1234u);
}

TEST(SamplerTest, UnseededSamplersPickTheirOwnSeeds) {
  Sampler a({}), b({});
  EXPECT_NE(a.seed(), b.seed());
}

TEST(SamplerTest, FrequenciesFollowTheTemperedDistribution) {
  const std::vector<float> base = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f};
  const float t = 0.7f;
  std::vector<float> scaled(base.size());
  for (size_t i = 0; i < base.size(); ++i) scaled[i] = base[i] / t;
  const auto want = NaiveSoftmax(scaled);
  Sampler s({.temperature = t, .seed = 99});
  constexpr int kDraws = 20000;
  std::vector<int> counts(base.size());
  for (int i = 0; i < kDraws; ++i) {
    auto l = base;
    ++counts[s.Sample(l, {})];
  }
  for (size_t i = 0; i < base.size(); ++i) {
    // Binomial standard deviation is at most 0.0036 here; 5 sigma.
    EXPECT_NEAR(counts[i] / static_cast<double>(kDraws), want[i], 0.018) << "token " << i;
  }
}

TEST(SamplerTest, TopKAndTopPRestrictWhatIsDrawn) {
  const std::vector<float> base = {2.0f, 1.9f, 1.8f, 1.7f, 1.6f};
  Sampler k2({.top_k = 2, .seed = 7});
  Sampler p({.top_p = 0.3f, .seed = 7});
  std::map<int32_t, int> seen_k, seen_p;
  for (int i = 0; i < 500; ++i) {
    auto l = base;
    ++seen_k[k2.Sample(l, {})];
    l = base;
    ++seen_p[p.Sample(l, {})];
  }
  EXPECT_EQ(seen_k.size(), 2u);
  EXPECT_TRUE(seen_k.contains(0) && seen_k.contains(1));
  // p(0) = 0.2419, p(0)+p(1) = 0.4608 >= 0.3: tokens 0 and 1 only.
  EXPECT_EQ(seen_p.size(), 2u);
  EXPECT_TRUE(seen_p.contains(0) && seen_p.contains(1));
}

TEST(SamplerTest, SurvivesNanAndTinyTemperature) {
  Sampler s({.temperature = 1e-30f, .seed = 1});
  std::vector<float> l = {0.5f, NAN, 3.0f, 2.9f};
  EXPECT_EQ(s.Sample(l, {}), 2);
}

}  // namespace
}  // namespace inferline::engine
