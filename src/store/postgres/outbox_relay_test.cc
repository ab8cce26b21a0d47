#include "store/postgres/outbox_relay.h"

#include <gtest/gtest.h>

#include <future>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "queue/memory/memory_broker.h"
#include "queue/testing/forwarding_broker.h"
#include "store/postgres/postgres_store.h"
#include "store/postgres/postgres_test_env.h"
#include "store/store_contract_test.h"

namespace inferline::store {
namespace {

using namespace std::chrono_literals;

// A MemoryBroker that can be told to refuse publishes, and that remembers every message id it
// was handed (duplicates included). PublishBatch is the Broker's default (one Publish per
// message), counted.
struct MemoryBrokerHolder {
  queue::MemoryBroker memory;
};
class FlakyBroker final : private MemoryBrokerHolder, public queue::testing::ForwardingBroker {
 public:
  FlakyBroker() : ForwardingBroker(memory) {}
  // Refuse the messages with these ids (as a full queue would), whatever SetFailing says.
  void SetRefused(std::set<std::string> ids) {
    std::lock_guard lock(mu_);
    refused_ids_ = std::move(ids);
  }
  int batches() const { return batches_.load(); }
  // Each PublishBatch takes this long first (a slow broker).
  void SetDelay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }
  // Refuse every publish while `failing`; with `fail_after` >= 0, accept that many first.
  void SetFailing(bool failing, int fail_after = -1) {
    std::lock_guard lock(mu_);
    failing_ = failing;
    fail_after_ = fail_after;
  }
  int refused() const { return refused_.load(); }
  std::multiset<std::string> published_ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }

  Status Publish(std::string_view queue, std::string_view payload,
                 const queue::MessageMeta& meta) override {
    {
      std::lock_guard lock(mu_);
      if (refused_ids_.contains(meta.message_id)) {
        ++refused_;
        return ResourceExhausted("queue full (test)");
      }
      if (failing_ && fail_after_-- <= 0) {
        ++refused_;
        return Unavailable("broker down (test)");
      }
      ids_.insert(meta.message_id);
    }
    return ForwardingBroker::Publish(queue, payload, meta);
  }
  std::vector<Status> PublishBatch(std::span<const queue::OutgoingMessage> messages) override {
    ++batches_;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
    return Broker::PublishBatch(messages);
  }

 private:
  std::mutex mu_;  // guards failing_, fail_after_, refused_ids_, ids_
  bool failing_ = false;
  int fail_after_ = -1;
  std::set<std::string> refused_ids_;
  std::multiset<std::string> ids_;
  std::atomic<int> refused_{0};
  std::atomic<int> batches_{0};
  std::atomic<int> delay_ms_{0};
};

constexpr std::string_view kQueue = "inference_requests.tiny";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The gateway's wiring: the store hands every committed outbox row to the relay.
void HandOver(PostgresStore& store, OutboxRelay& relay) {
  store.SetOutboxCommitted(
      [&relay](PostgresStore::CommittedOutbox row) { relay.Offer(std::move(row)); });
}

// Records created at `created_ms` (by default long ago: sweeps take such rows at once).
Status Accept(Store& s, const std::string& id, int64_t created_ms = 1) {
  OutboxMessage m{std::string(kQueue),
                  R"({"request_id":")" + id + R"("})",
                  {.message_id = id, .model = "tiny", .tokens = 21}};
  return s.CreateRequest(contract::MakeRecord(id, "u", created_ms), m);
}

// The same through CreateRequestAsync, waiting for its commit.
void AcceptAsync(Store& s, const std::string& id, int64_t created_ms = 1) {
  OutboxMessage m{std::string(kQueue),
                  R"({"request_id":")" + id + R"("})",
                  {.message_id = id, .model = "tiny", .tokens = 21}};
  std::promise<Status> done;
  s.CreateRequestAsync(contract::MakeRecord(id, "u", created_ms), m,
                       [&done](Status st) { done.set_value(std::move(st)); });
  Status st = done.get_future().get();
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// Polls `cond` for up to 60 s (a generous bound, not a timing assertion).
template <class F>
bool Eventually(F&& cond) {
  for (int i = 0; i < 6000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

int64_t Ready(queue::Broker& b) {
  auto st = b.Stats(kQueue);
  return st.ok() ? st->ready : -1;
}

// Each test: a fresh migrated database, its store, and a broker.
class OutboxRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url = pgtest::FreshDatabase();
    auto opened = PostgresStore::Open(pgtest::Options(url));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    s = std::move(*opened);
  }
  std::string url;
  std::unique_ptr<PostgresStore> s;
  FlakyBroker broker;
};

TEST_F(OutboxRelayTest, PublishesCommittedRowsThenDeletesThem) {
  OutboxRelay relay(pgtest::Options(url), broker, {.poll_interval = 60s});
  ASSERT_TRUE(relay.Start().ok());
  HandOver(*s, relay);
  // Rows accepted after the relay went to sleep are handed to it through the store's commit
  // hook (the poll interval is a minute, longer than Eventually waits), from blocking and
  // asynchronous writes.
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(Accept(*s, "r" + std::to_string(i), NowMs()).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 25; })) << Ready(broker);
  std::this_thread::sleep_for(100ms);
  for (int i = 25; i < 50; ++i) AcceptAsync(*s, "r" + std::to_string(i), NowMs());
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 50; })) << Ready(broker);
  ASSERT_TRUE(
      Eventually([&] { return pgtest::QueryInt(url, "SELECT count(*) FROM outbox") == 0; }));
  relay.Stop();
  EXPECT_EQ(relay.published(), 50u);

  auto got = broker.Consume(kQueue, {.max_messages = 100});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 50u);
  EXPECT_EQ((*got)[0].meta.message_id, "r0");  // in accept order
  EXPECT_EQ((*got)[0].payload, R"({"request_id":"r0"})");
  EXPECT_EQ((*got)[0].meta.tokens, 21);
  EXPECT_EQ((*got)[0].meta.model, "tiny");
}

// A handed row is published as it was handed over, not read back: what the broker gets is what
// the hook passed on (here changed on purpose), and the row is deleted after the confirm.
TEST_F(OutboxRelayTest, HandedRowsArePublishedFromMemory) {
  OutboxRelay relay(pgtest::Options(url), broker, {.poll_interval = 60s});
  ASSERT_TRUE(relay.Start().ok());
  s->SetOutboxCommitted([&relay](PostgresStore::CommittedOutbox row) {
    EXPECT_GT(row.id, 0);
    row.message.payload = "from memory " + row.message.meta.message_id;
    relay.Offer(std::move(row));
  });
  std::this_thread::sleep_for(100ms);  // the relay's first sweep is done
  ASSERT_TRUE(Accept(*s, "h0", NowMs()).ok());
  AcceptAsync(*s, "h1", NowMs());
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 2; })) << Ready(broker);
  ASSERT_TRUE(
      Eventually([&] { return pgtest::QueryInt(url, "SELECT count(*) FROM outbox") == 0; }));
  relay.Stop();
  auto got = broker.Consume(kQueue, {.max_messages = 10});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].payload, "from memory h0");
  EXPECT_EQ((*got)[1].payload, "from memory h1");
  EXPECT_EQ(broker.published_ids().size(), 2u);  // once each: deleted, never swept
}

// Sweeps leave young rows alone (the replica that committed them publishes them from memory),
// the hand-off gives up on rows past half of sweep_after, and sweeps take rows past it.
TEST_F(OutboxRelayTest, SweepsTakeOnlyRowsOlderThanSweepAfter) {
  OutboxRelay relay(pgtest::Options(url), broker,
                    {.poll_interval = 50ms, .sweep_after = 60s});
  ASSERT_TRUE(relay.Start().ok());
  const int64_t now = NowMs();
  ASSERT_TRUE(Accept(*s, "young", now).ok());         // another replica's: not handed
  ASSERT_TRUE(Accept(*s, "old", now - 70'000).ok());  // a crashed replica's
  HandOver(*s, relay);
  ASSERT_TRUE(Accept(*s, "stale", now - 40'000).ok());  // handed, but past 30 s
  ASSERT_TRUE(Accept(*s, "fresh", now).ok());           // handed
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 2; })) << Ready(broker);
  std::this_thread::sleep_for(500ms);  // ten sweeps more
  relay.Stop();
  std::multiset<std::string> ids = broker.published_ids();
  EXPECT_EQ(ids, (std::multiset<std::string>{"fresh", "old"}));
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox WHERE message_id IN "
                                  "('young', 'stale')"),
            2);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 2);
}

// A handed row the broker refuses stays in the table and in the relay's hands: it is retried
// after the backoff and published once, with the rest published and deleted meanwhile.
TEST_F(OutboxRelayTest, RefusedHandedRowsAreRetried) {
  broker.SetRefused({"k2"});
  OutboxRelay relay(pgtest::Options(url), broker,
                    {.poll_interval = 60s, .min_backoff = 100ms, .max_backoff = 100ms});
  ASSERT_TRUE(relay.Start().ok());
  HandOver(*s, relay);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Accept(*s, "k" + std::to_string(i), NowMs()).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 4 && broker.refused() >= 2; }));
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 1);
  broker.SetRefused({});
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 5; })) << Ready(broker);
  ASSERT_TRUE(
      Eventually([&] { return pgtest::QueryInt(url, "SELECT count(*) FROM outbox") == 0; }));
  relay.Stop();
  std::multiset<std::string> ids = broker.published_ids();
  EXPECT_EQ(ids.size(), 5u);  // each once
  EXPECT_EQ(relay.published(), 5u);
}

// Sweeps still run while rows are handed over without a pause: here the broker is slow, so
// handed rows are always waiting, and a row the hand-off gave up on (too old) must still be
// swept while the accepts go on.
TEST_F(OutboxRelayTest, SweepsAreNotStarvedByAStreamOfHandedRows) {
  broker.SetDelay(20ms);
  OutboxRelay relay(pgtest::Options(url), broker,
                    {.batch_size = 4, .poll_interval = 50ms, .sweep_after = 60s});
  ASSERT_TRUE(relay.Start().ok());
  HandOver(*s, relay);
  std::atomic<bool> done{false};
  std::atomic<int> accepted{0};
  std::vector<std::thread> gateways;
  for (int t = 0; t < 4; ++t) {
    gateways.emplace_back([&, t] {
      for (int i = 0; !done; ++i) {
        if (Accept(*s, "s" + std::to_string(t) + "-" + std::to_string(i), NowMs()).ok()) {
          ++accepted;
        }
      }
    });
  }
  ASSERT_TRUE(Eventually([&] { return accepted > 50; }));
  ASSERT_TRUE(Accept(*s, "old", NowMs() - 70'000).ok());  // handed, past 30 s: left to sweeps
  const bool swept = Eventually([&] {
    return pgtest::QueryInt(url, "SELECT count(*) FROM outbox WHERE message_id = 'old'") == 0 ||
           accepted > 20'000;
  });
  const int64_t waiting_then = pgtest::QueryInt(url, "SELECT count(*) FROM outbox");
  done = true;
  for (auto& g : gateways) g.join();
  relay.Stop();
  EXPECT_TRUE(swept);
  EXPECT_GT(waiting_then, 4) << "the broker kept up: handed rows were not always waiting";
  EXPECT_EQ(broker.published_ids().count("old"), 1u);
}

// Rows another replica committed (no hook wakes this relay) are found by polling.
TEST_F(OutboxRelayTest, PollsForRowsOthersCommitted) {
  OutboxRelay relay(pgtest::Options(url), broker, {.poll_interval = 200ms});  // rows long made
  ASSERT_TRUE(relay.Start().ok());
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Accept(*s, "p" + std::to_string(i)).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(broker) == 5; })) << Ready(broker);
  relay.Stop();
  EXPECT_EQ(relay.published(), 5u);
}

// While the broker is down the relay backs off; rows committed meanwhile wake it, but do not
// cut the backoff short (it would retry the broker at the accept rate), and Stop still does.
TEST_F(OutboxRelayTest, NewRowsDoNotCutABackoffShort) {
  broker.SetFailing(true);
  OutboxRelay relay(pgtest::Options(url), broker,
                    {.poll_interval = 60s, .min_backoff = 2000ms, .max_backoff = 2000ms});
  ASSERT_TRUE(relay.Start().ok());
  HandOver(*s, relay);
  ASSERT_TRUE(Accept(*s, "b0", NowMs()).ok());
  ASSERT_TRUE(Eventually([&] { return broker.batches() >= 1; }));
  const int first = broker.batches();
  for (int i = 1; i <= 20; ++i) {  // 20 commits, each waking the relay, within 1 s
    ASSERT_TRUE(Accept(*s, "b" + std::to_string(i), NowMs()).ok());
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LE(broker.batches() - first, 1);  // at most the retry the backoff allows
  auto stop_started = std::chrono::steady_clock::now();
  relay.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 1500ms);  // not the full backoff
  broker.SetFailing(false);
}

TEST_F(OutboxRelayTest, NothingIsDeletedBeforeTheBrokerConfirmed) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Accept(*s, "r" + std::to_string(i)).ok());

  // One pass where the broker takes 4 messages and then fails: exactly those 4 rows go.
  OutboxRelay relay(pgtest::Options(url), broker);
  auto conn = pgtest::Connect(url);
  ASSERT_TRUE(conn);
  broker.SetFailing(true, /*fail_after=*/4);
  auto pass = relay.RelayOnce(*conn);
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 6);
  EXPECT_EQ(pgtest::QueryInt(url,
                             "SELECT count(*) FROM outbox WHERE message_id IN "
                             "('r0', 'r1', 'r2', 'r3')"),
            0);
  EXPECT_EQ(Ready(broker), 4);

  // The broker stays down for a while: the relay thread keeps retrying, nothing is lost.
  broker.SetFailing(true);
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(Accept(*s, "r" + std::to_string(i)).ok());
  ASSERT_TRUE(relay.Start().ok());
  ASSERT_TRUE(Eventually([&] { return broker.refused() >= 4; }));
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 16);
  EXPECT_EQ(Ready(broker), 4);

  broker.SetFailing(false);
  ASSERT_TRUE(
      Eventually([&] { return pgtest::QueryInt(url, "SELECT count(*) FROM outbox") == 0; }));
  relay.Stop();
  EXPECT_EQ(Ready(broker), 20);
  std::multiset<std::string> ids = broker.published_ids();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 20u);
}

// A pass hands its whole claim to one PublishBatch and deletes exactly the rows confirmed, even
// when the refused ones sit between confirmed ones.
TEST_F(OutboxRelayTest, DeletesExactlyTheRowsTheBrokerConfirmedOfABatch) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Accept(*s, "r" + std::to_string(i)).ok());
  OutboxRelay relay(pgtest::Options(url), broker);
  auto conn = pgtest::Connect(url);
  ASSERT_TRUE(conn);

  broker.SetRefused({"r2", "r7"});
  auto pass = relay.RelayOnce(*conn);
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(pass.status().message().find(kQueue), std::string::npos) << pass.status().message();
  EXPECT_EQ(broker.batches(), 1);
  EXPECT_EQ(relay.published(), 8u);
  EXPECT_EQ(Ready(broker), 8);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 2);
  EXPECT_EQ(pgtest::QueryInt(url,
                             "SELECT count(*) FROM outbox WHERE message_id IN ('r2', 'r7')"),
            2);

  broker.SetRefused({});
  auto retry = relay.RelayOnce(*conn);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(*retry, 2);
  EXPECT_EQ(broker.batches(), 2);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 0);
  EXPECT_EQ(Ready(broker), 10);
  std::multiset<std::string> ids = broker.published_ids();
  EXPECT_EQ(ids.size(), 10u);  // nothing published twice
}

TEST_F(OutboxRelayTest, SeveralRelaysShareTheWork) {
  constexpr int kRequests = 600;
  std::vector<std::unique_ptr<OutboxRelay>> relays;
  for (int i = 0; i < 3; ++i) {  // one per gateway replica
    relays.push_back(std::make_unique<OutboxRelay>(pgtest::Options(url), broker,
                                                   OutboxRelayOptions{.batch_size = 16}));
    ASSERT_TRUE(relays.back()->Start().ok());
  }
  std::vector<std::thread> gateways;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    gateways.emplace_back([&, t] {
      for (int i = t; i < kRequests; i += 8) {
        if (!Accept(*s, "r" + std::to_string(i)).ok()) ++errors;
      }
    });
  }
  for (auto& g : gateways) g.join();
  ASSERT_EQ(errors.load(), 0);
  ASSERT_TRUE(
      Eventually([&] { return pgtest::QueryInt(url, "SELECT count(*) FROM outbox") == 0; }));
  uint64_t total = 0;
  for (auto& r : relays) {
    r->Stop();
    total += r->published();
  }
  // Every row published; SKIP LOCKED means no row went out twice while all relays were healthy.
  std::multiset<std::string> ids = broker.published_ids();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), size_t{kRequests});
  EXPECT_EQ(ids.size(), size_t{kRequests});
  EXPECT_EQ(total, uint64_t{kRequests});
  EXPECT_EQ(Ready(broker), kRequests);
}

}  // namespace
}  // namespace inferline::store
