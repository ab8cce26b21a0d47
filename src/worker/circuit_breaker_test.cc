#include "worker/circuit_breaker.h"

#include <gtest/gtest.h>

namespace inferline::worker {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

struct FakeClock {
  CircuitBreaker::Clock::time_point now{};
  std::function<CircuitBreaker::Clock::time_point()> Fn() {
    return [this] { return now; };
  }
};

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  FakeClock clock;
  CircuitBreaker breaker({3, 10s}, clock.Fn());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.OnFailure();
  }
  ASSERT_TRUE(breaker.Allow());
  breaker.OnSuccess();  // resets the count
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.OnFailure();
  }
  EXPECT_EQ(breaker.state(), State::kClosed);
  ASSERT_TRUE(breaker.Allow());
  breaker.OnFailure();
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_FALSE(breaker.WouldAllow());
  EXPECT_FALSE(breaker.Allow());
}

TEST(CircuitBreakerTest, HalfOpensAfterTheCoolDownAndLetsOneProbeThrough) {
  FakeClock clock;
  CircuitBreaker breaker({1, 10s}, clock.Fn());
  ASSERT_TRUE(breaker.Allow());
  breaker.OnFailure();
  clock.now += 9s;
  EXPECT_FALSE(breaker.Allow());
  clock.now += 1s;
  EXPECT_TRUE(breaker.WouldAllow());
  EXPECT_TRUE(breaker.Allow());  // the probe
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_FALSE(breaker.WouldAllow());
  EXPECT_FALSE(breaker.Allow());
  breaker.OnSuccess();
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.Allow());
}

TEST(CircuitBreakerTest, AFailedProbeReopensForAnotherCoolDown) {
  FakeClock clock;
  CircuitBreaker breaker({2, 5s}, clock.Fn());
  breaker.OnFailure();
  breaker.OnFailure();
  clock.now += 5s;
  ASSERT_TRUE(breaker.Allow());
  breaker.OnFailure();
  EXPECT_EQ(breaker.state(), State::kOpen);
  clock.now += 4s;
  EXPECT_FALSE(breaker.Allow());
  clock.now += 1s;
  EXPECT_TRUE(breaker.Allow());
}

TEST(CircuitBreakerTest, AnAbandonedProbeLetsTheNextCallProbe) {
  FakeClock clock;
  CircuitBreaker breaker({1, 1s}, clock.Fn());
  breaker.OnFailure();
  clock.now += 1s;
  ASSERT_TRUE(breaker.Allow());
  EXPECT_FALSE(breaker.Allow());
  breaker.OnAbandoned();
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_TRUE(breaker.Allow());
}

TEST(CircuitBreakerTest, OutcomesOfOlderCallsDoNotMoveAnOpenBreaker) {
  FakeClock clock;
  CircuitBreaker breaker({1, 10s}, clock.Fn());
  breaker.OnFailure();
  clock.now += 5s;
  breaker.OnSuccess();  // a call that began before the circuit opened
  breaker.OnFailure();  // does not restart the cool-down either
  EXPECT_EQ(breaker.state(), State::kOpen);
  clock.now += 5s;
  EXPECT_TRUE(breaker.Allow());
}

}  // namespace
}  // namespace inferline::worker
