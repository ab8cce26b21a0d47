#include "queue/memory/memory_broker.h"

#include <gtest/gtest.h>

#include "queue/broker_contract_test.h"

namespace inferline::queue {
namespace {

class MemoryEnv {
 public:
  static constexpr bool kDurable = false;
  MemoryEnv()
      : broker_(std::make_shared<MemoryBroker>(MemoryBrokerOptions{
            .max_deliveries = 3, .now = [this] { return Now(); }})) {}
  std::shared_ptr<Broker> broker() { return broker_; }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }
  void Restart() {}

 private:
  std::chrono::system_clock::time_point Now() const {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::shared_ptr<MemoryBroker> broker_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, BrokerContractTest, ::testing::Types<MemoryEnv>);
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, BrokerLeaseContractTest, ::testing::Types<MemoryEnv>);
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, BrokerOrderingContractTest, ::testing::Types<MemoryEnv>);
}  // namespace contract

}  // namespace inferline::queue
