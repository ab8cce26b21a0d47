// The whole model against golden values from the reference implementation
// (tests/reference/make_golden.py, float64): logits within the stated tolerance, and the greedy
// continuation token for token, for every tiny model in tests/golden/models/.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/model/model.h"

namespace inferline::engine {
namespace {

namespace fs = std::filesystem;

fs::path GoldenDir(const std::string& name) {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  return fs::path(root ? root : ".") / "tests" / "golden" / "models" / name;
}

struct Golden {
  std::vector<int32_t> prompt;
  std::vector<float> logits_last;
  std::vector<std::vector<float>> logits_all_first8;
  std::vector<int32_t> greedy;
  std::vector<double> rope_inv_freq;
  float tolerance = 0;
};

Golden ReadGolden(const fs::path& dir) {
  std::ifstream in(dir / "golden.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const boost::json::object o = boost::json::parse(ss.str()).as_object();
  auto floats = [](const boost::json::value& v) {
    std::vector<float> out;
    for (const auto& x : v.as_array()) out.push_back(static_cast<float>(x.to_number<double>()));
    return out;
  };
  auto ints = [](const boost::json::value& v) {
    std::vector<int32_t> out;
    for (const auto& x : v.as_array()) out.push_back(static_cast<int32_t>(x.to_number<int64_t>()));
    return out;
  };
  Golden g;
  g.prompt = ints(o.at("prompt_ids"));
  g.logits_last = floats(o.at("logits_last"));
  for (const auto& row : o.at("logits_all_first8").as_array()) {
    g.logits_all_first8.push_back(floats(row));
  }
  g.greedy = ints(o.at("greedy_ids"));
  g.tolerance = static_cast<float>(o.at("tolerance").to_number<double>());
  if (o.contains("rope_inv_freq")) {
    for (const auto& x : o.at("rope_inv_freq").as_array()) {
      g.rope_inv_freq.push_back(x.to_number<double>());
    }
  }
  return g;
}

int32_t ArgMax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const fs::path dir = GoldenDir(GetParam());
    ASSERT_TRUE(fs::exists(dir / "golden.json")) << dir;
    golden_ = ReadGolden(dir);
    auto m = Model::Load(dir, LoadOptions{.num_threads = 2});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
    vocab_ = model_->config().vocab_size;
  }
  std::unique_ptr<KvCache> NewCache() {
    auto c = KvCache::Create(model_->config(), model_->config().max_positions);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  Golden golden_;
  std::unique_ptr<Model> model_;
  int vocab_ = 0;
  Activations act_;
};

TEST_P(GoldenTest, PrefillLogitsMatch) {
  const int64_t n = static_cast<int64_t>(golden_.prompt.size());
  auto cache = NewCache();
  std::vector<float> all(n * vocab_);
  SequenceStep step{cache.get(), 0, golden_.prompt, LogitsMode::kAll, all};
  ASSERT_TRUE(model_->Forward({&step, 1}, act_).ok());
  ASSERT_EQ(golden_.logits_last.size(), static_cast<size_t>(vocab_));
  float worst = 0;
  for (int v = 0; v < vocab_; ++v) {
    worst = std::max(worst, std::fabs(all[(n - 1) * vocab_ + v] - golden_.logits_last[v]));
  }
  EXPECT_LE(worst, golden_.tolerance) << "last-position logits";
  ASSERT_EQ(golden_.logits_all_first8.size(), static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    for (size_t v = 0; v < golden_.logits_all_first8[t].size(); ++v) {
      EXPECT_NEAR(all[t * vocab_ + v], golden_.logits_all_first8[t][v], golden_.tolerance)
          << "position " << t << " token " << v;
    }
  }
}

TEST_P(GoldenTest, GreedyContinuationMatches) {
  auto cache = NewCache();
  std::vector<float> logits(vocab_);
  SequenceStep prefill{cache.get(), 0, golden_.prompt, LogitsMode::kLast, logits};
  ASSERT_TRUE(model_->Forward({&prefill, 1}, act_).ok());
  std::vector<int32_t> out;
  for (size_t i = 0; i < golden_.greedy.size(); ++i) {
    const int32_t next = ArgMax(logits);
    out.push_back(next);
    SequenceStep step{cache.get(), cache->length(), std::span(&out.back(), 1), LogitsMode::kLast,
                      logits};
    ASSERT_TRUE(model_->Forward({&step, 1}, act_).ok());
  }
  EXPECT_EQ(out, golden_.greedy);
}

TEST_P(GoldenTest, BatchedSequencesMatchTheirGoldenLogits) {
  // The golden prompt, run in one batch beside two unrelated sequences, still gives the
  // golden logits; and the others match their own single-sequence runs.
  const std::vector<int32_t> other1(golden_.greedy.begin(), golden_.greedy.begin() + 7);
  const std::vector<int32_t> other2(golden_.prompt.rbegin(), golden_.prompt.rend());
  std::vector<std::vector<float>> alone;
  for (const auto* ids : {&other1, &other2}) {
    auto cache = NewCache();
    alone.emplace_back(vocab_);
    SequenceStep s{cache.get(), 0, *ids, LogitsMode::kLast, alone.back()};
    ASSERT_TRUE(model_->Forward({&s, 1}, act_).ok());
  }
  auto c0 = NewCache(), c1 = NewCache(), c2 = NewCache();
  std::vector<float> l0(vocab_), l1(vocab_), l2(vocab_);
  std::vector<SequenceStep> batch = {{c1.get(), 0, other1, LogitsMode::kLast, l1},
                                     {c0.get(), 0, golden_.prompt, LogitsMode::kLast, l0},
                                     {c2.get(), 0, other2, LogitsMode::kLast, l2}};
  ASSERT_TRUE(model_->Forward(batch, act_).ok());
  for (int v = 0; v < vocab_; ++v) {
    ASSERT_NEAR(l0[v], golden_.logits_last[v], golden_.tolerance) << "token " << v;
    ASSERT_NEAR(l1[v], alone[0][v], 1e-5f);
    ASSERT_NEAR(l2[v], alone[1][v], 1e-5f);
  }
}

TEST_P(GoldenTest, RopeFrequenciesMatch) {
  if (model_->config().arch != "llama") {
    EXPECT_EQ(model_->rope(), nullptr);
    EXPECT_TRUE(golden_.rope_inv_freq.empty());
    return;
  }
  ASSERT_NE(model_->rope(), nullptr);
  const auto inv = model_->rope()->inv_freq();
  ASSERT_EQ(inv.size(), golden_.rope_inv_freq.size());
  for (size_t i = 0; i < inv.size(); ++i) {
    EXPECT_NEAR(inv[i], golden_.rope_inv_freq[i], 1e-6 * golden_.rope_inv_freq[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest,
                         ::testing::Values("gpt2-tiny", "gpt2-tiny-f16", "llama-tiny",
                                           "llama-tiny-bf16", "llama3-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

// The shipped model (models/kjv-small) against tests/golden/kjv-small.json, written by
// models/train/export.py from a float64 forward over the same file. The tolerance there is
// relative for large logits.
TEST(KjvSmallGoldenTest, LogitsAndGreedyContinuationMatch) {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  const fs::path base = root ? fs::path(root) : fs::path(".");
  std::ifstream in(base / "tests" / "golden" / "kjv-small.json");
  ASSERT_TRUE(in) << "tests/golden/kjv-small.json is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const boost::json::object g = boost::json::parse(ss.str()).as_object();
  auto m = Model::Load(base / "models" / "kjv-small", LoadOptions{.num_threads = 2});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Model& model = **m;
  const int vocab = model.config().vocab_size;
  std::vector<int32_t> prompt;
  for (const auto& v : g.at("prompt_ids").as_array()) prompt.push_back(v.to_number<int32_t>());
  const double tol = g.at("tolerance").to_number<double>();

  auto cache = KvCache::Create(model.config(), model.config().max_positions);
  ASSERT_TRUE(cache.ok());
  Activations act;
  std::vector<float> logits(vocab);
  SequenceStep prefill{cache->get(), 0, prompt, LogitsMode::kLast, logits};
  ASSERT_TRUE(model.Forward({&prefill, 1}, act).ok());
  const auto& ref = g.at("logits_last").as_array();
  ASSERT_EQ(ref.size(), static_cast<size_t>(vocab));
  for (int v = 0; v < vocab; ++v) {
    const double r = ref[v].to_number<double>();
    ASSERT_NEAR(logits[v], r, tol * std::max(1.0, std::fabs(r))) << "token " << v;
  }

  // Greedy continuation, token for token (the first 20 keep the test fast under sanitizers), up
  // to the first step whose top-2 margin is so small that float32 rounding may flip it.
  const auto& want = g.at("greedy_ids").as_array();
  const auto& margins = g.at("greedy_top2_margins").as_array();
  std::vector<int32_t> out;
  for (size_t i = 0; i < want.size() && i < 20; ++i) {
    if (margins[i].to_number<double>() < 1e-3) break;
    out.push_back(ArgMax(logits));
    ASSERT_EQ(out.back(), want[i].to_number<int32_t>()) << "step " << i;
    SequenceStep step{cache->get(), (*cache)->length(), std::span(&out.back(), 1),
                      LogitsMode::kLast, logits};
    ASSERT_TRUE(model.Forward({&step, 1}, act).ok());
  }
  EXPECT_GE(out.size(), 10u);
}

}  // namespace
}  // namespace inferline::engine
