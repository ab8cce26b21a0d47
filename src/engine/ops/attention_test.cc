#include "engine/ops/attention.h"

#include <gtest/gtest.h>

#include "engine/ops/reference.h"
#include "engine/ops/test_util.h"
#include "engine/ops/thread_pool.h"

namespace inferline::engine::ops {
namespace {

using testing::AllClose;
using testing::RandomVector;

struct Case {
  int heads, kv_heads, head_dim;
  int64_t start, n_new, capacity;
};

// Token-major [len, kv_heads * hd] -> cache layout [kv_heads, capacity, hd].
std::vector<float> ToCache(const std::vector<float>& t, int64_t len, int kv_heads, int hd,
                           int64_t capacity) {
  std::vector<float> cache(static_cast<size_t>(kv_heads) * capacity * hd, 1e30f);  // poison
  for (int64_t p = 0; p < len; ++p) {
    for (int h = 0; h < kv_heads; ++h) {
      for (int c = 0; c < hd; ++c) {
        cache[(h * capacity + p) * hd + c] = t[(p * kv_heads + h) * hd + c];
      }
    }
  }
  return cache;
}

class AttentionTest : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionTest, MatchesNaive) {
  const Case c = GetParam();
  const int64_t len = c.start + c.n_new;
  const auto q = RandomVector(c.n_new * c.heads * c.head_dim, 70);
  const auto k = RandomVector(len * c.kv_heads * c.head_dim, 71);
  const auto v = RandomVector(len * c.kv_heads * c.head_dim, 72);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const auto want =
      reference::Attention(q, k, v, c.start, c.n_new, c.heads, c.kv_heads, c.head_dim, scale);
  const auto kc = ToCache(k, len, c.kv_heads, c.head_dim, c.capacity);
  const auto vc = ToCache(v, len, c.kv_heads, c.head_dim, c.capacity);
  ThreadPool pool(2);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    std::vector<float> out(q.size(), -7.0f);
    AttentionSeq s{q.data(),  c.heads * c.head_dim, kc.data(),
                   vc.data(), c.capacity,           c.start,
                   c.n_new,   out.data(),           c.heads * c.head_dim};
    CausalAttention({&s, 1}, {c.heads, c.kv_heads, c.head_dim}, scale, p);
    EXPECT_TRUE(AllClose(out, want, 1e-5f, 1e-4f));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Values(Case{1, 1, 4, 0, 1, 1},       // first token
                                           Case{2, 2, 8, 0, 5, 8},       // prefill, MHA
                                           Case{4, 2, 8, 3, 1, 9},       // decode, GQA
                                           Case{6, 2, 6, 10, 37, 50},    // long prefill, odd hd
                                           Case{4, 1, 16, 20, 3, 23}));  // MQA

TEST(AttentionTest, BatchOfSequencesEqualsEachAlone) {
  const int heads = 4, kv = 2, hd = 8;
  const float scale = 0.3f;
  struct Seq {
    int64_t start, n_new, cap;
    std::vector<float> q, kc, vc, out;
  };
  std::vector<Seq> seqs = {
      {0, 6, 8, {}, {}, {}, {}}, {5, 1, 12, {}, {}, {}, {}}, {2, 3, 5, {}, {}, {}, {}}};
  int seed = 100;
  for (auto& s : seqs) {
    s.q = RandomVector(s.n_new * heads * hd, seed++);
    s.kc = RandomVector(kv * s.cap * hd, seed++);
    s.vc = RandomVector(kv * s.cap * hd, seed++);
  }
  auto view = [&](Seq& s) {
    s.out.assign(s.q.size(), 0.0f);
    return AttentionSeq{s.q.data(), heads * hd, s.kc.data(),  s.vc.data(), s.cap,
                        s.start,    s.n_new,    s.out.data(), heads * hd};
  };
  std::vector<std::vector<float>> alone;
  for (auto& s : seqs) {
    AttentionSeq a = view(s);
    CausalAttention({&a, 1}, {heads, kv, hd}, scale, nullptr);
    alone.push_back(s.out);
  }
  std::vector<AttentionSeq> batch;
  for (auto& s : seqs) batch.push_back(view(s));
  ThreadPool pool(3);
  CausalAttention(batch, {heads, kv, hd}, scale, &pool);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i].out, alone[i]) << "seq " << i;
}

}  // namespace
}  // namespace inferline::engine::ops
