// Fault tests: RabbitMQ restarted (gracefully, then killed with SIGKILL) while threads publish.
// Every message whose Publish (or PublishBatch) answered ok must be delivered afterwards;
// deliveries held across the restart are stale. Uses its own node, since it stops it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "queue/rabbitmq/rabbitmq_broker.h"
#include "queue/rabbitmq/testing/rabbitmq_server.h"

namespace inferline::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::RabbitMqServer;

constexpr std::string_view kQ = "inference_requests.tiny";

struct Load {
  std::mutex mu;
  std::set<std::string> confirmed;
  std::atomic<int> failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;

  // Even threads Publish one message at a time, odd ones PublishBatch 25 at a time (whose
  // unconfirmed messages are re-published after a reconnect like single ones).
  void Start(RabbitMqBroker& b, int n, const std::string& tag) {
    stop = false;
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([this, &b, t, tag] {
        const size_t batch_size = t % 2 == 0 ? 1 : 25;
        for (int i = 0; !stop;) {
          std::vector<OutgoingMessage> batch;
          for (size_t k = 0; k < batch_size; ++k, ++i) {
            std::string id = fmt::format("{}-{}-{}", tag, t, i);
            batch.push_back({std::string(kQ), id, {.message_id = id}});
          }
          std::vector<Status> answers;
          if (batch_size == 1) {
            answers.push_back(b.Publish(kQ, batch[0].payload, batch[0].meta));
          } else {
            answers = b.PublishBatch(batch);
          }
          EXPECT_EQ(answers.size(), batch.size());
          std::lock_guard lock(mu);
          for (size_t k = 0; k < answers.size(); ++k) {
            if (answers[k].ok()) {
              confirmed.insert(batch[k].payload);
            } else {
              ++failed;  // not accepted: allowed to be lost
            }
          }
        }
      });
    }
  }
  void Finish() {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }
};

void Settle(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

TEST(RabbitMqRestart, NoConfirmedMessageIsLostAcrossRestartsUnderLoad) {
  auto server = RabbitMqServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::printf("[ measure  ] RabbitMQ startup: %lld ms\n",
              static_cast<long long>((*server)->startup_time().count()));
  RabbitMqOptions o;
  o.url = (*server)->url();
  o.models = {"tiny"};
  o.reconnect_min = milliseconds(50);
  o.reconnect_max = milliseconds(500);
  o.publish_timeout = seconds(120);
  auto broker = RabbitMqBroker::Create(o);
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  RabbitMqBroker& b = **broker;

  ASSERT_TRUE(b.Publish(kQ, "held", {.message_id = "held"}).ok());
  auto held = b.Consume(kQ, ConsumeOptions{.max_messages = 1});
  ASSERT_TRUE(held.ok() && held->size() == 1u);

  Load load;
  load.Start(b, 8, "graceful");
  Settle(milliseconds(1500));
  ASSERT_TRUE((*server)->Restart().ok());
  Settle(milliseconds(1500));
  load.Finish();
  std::printf("[ measure  ] restart: %zu confirmed, %d not accepted; restart took %lld ms\n",
              load.confirmed.size(), load.failed.load(),
              static_cast<long long>((*server)->startup_time().count()));

  // The delivery held across the restart is stale; RabbitMQ requeued it.
  EXPECT_EQ(b.Ack((*held)[0]).code(), StatusCode::kFailedPrecondition);

  const size_t before_kill = load.confirmed.size();
  load.Start(b, 8, "killed");
  Settle(milliseconds(1500));
  ASSERT_TRUE((*server)->Kill().ok());
  Settle(milliseconds(500));
  ASSERT_TRUE((*server)->StartAgain().ok());
  Settle(milliseconds(1500));
  load.Finish();
  std::printf("[ measure  ] after SIGKILL too: %zu confirmed, %d not accepted\n",
              load.confirmed.size(), load.failed.load());
  EXPECT_GT(load.confirmed.size(), before_kill) << "nothing was confirmed after the kill";

  std::set<std::string> seen;
  int duplicates = 0;
  while (true) {
    auto got = b.Consume(kQ, ConsumeOptions{.max_messages = 200, .wait = milliseconds(1000)});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (got->empty()) break;
    for (const Delivery& d : *got) {
      if (!seen.insert(d.payload).second) ++duplicates;
      ASSERT_TRUE(b.Ack(d).ok());
    }
  }
  EXPECT_TRUE(seen.contains("held"));
  size_t lost = 0;
  for (const std::string& id : load.confirmed) lost += !seen.contains(id);
  EXPECT_EQ(lost, 0u) << "confirmed messages missing after the restarts";
  std::printf("[ measure  ] consumed %zu distinct, %d re-published duplicates\n", seen.size(),
              duplicates);
}

}  // namespace
}  // namespace inferline::queue
