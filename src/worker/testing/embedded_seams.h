// Test helpers for the worker and the collector: the embedded seams on a database in a temp
// directory (store, broker, event bus), a stand-in for the gateway's accept step, an event
// recorder, and a condition wait. Header-only; tests that use it link inferline_store_sqlite,
// inferline_queue_sqlite and inferline_events_local.
//
// Thread-safety: one fixture per test; EventLog may be read while events arrive.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/local/local_event_bus.h"
#include "protocol/messages.h"
#include "queue/sqlite/sqlite_broker.h"
#include "store/sqlite/sqlite_database.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::worker::testing {

// Polls `cond` until it holds or `timeout` (generous: this is a liveness bound, not a speed
// assertion) passes.
inline bool WaitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Every event of one request, in order, as a subscriber sees them.
class EventLog {
 public:
  EventLog(events::EventBus& bus, const std::string& request_id) {
    auto sub = bus.Subscribe(request_id, 0, [this](const events::Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
    EXPECT_TRUE(sub.ok()) << sub.status().ToString();
    if (sub.ok()) sub_ = std::move(sub->subscription);
  }
  std::vector<events::Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events()) out.emplace_back(events::EventTypeName(e.type));
    return out;
  }
  bool WaitTerminal() const {
    return WaitFor([&] {
      auto ev = events();
      return !ev.empty() && events::IsTerminal(ev.back().type);
    });
  }
  int Count(events::EventType t) const {
    int n = 0;
    for (const auto& e : events()) n += e.type == t;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<events::Event> events_;
  events::Subscription sub_;
};

struct EmbeddedSeams {
  explicit EmbeddedSeams(int max_deliveries = 3) {
    auto db_or = store::SqliteDatabase::Open({dir.File("inferline.db")});
    if (!db_or.ok()) {
      ADD_FAILURE() << db_or.status().ToString();
      std::abort();
    }
    db = *db_or;
    store = std::make_unique<store::SqliteStore>(db);
    queue::SqliteBrokerOptions bo;
    bo.max_deliveries = max_deliveries;
    broker = std::make_unique<queue::SqliteBroker>(db, bo);
  }

  static protocol::RequestMessage Message(const std::string& id, const std::string& model,
                                          std::vector<int32_t> prompt_ids, int max_tokens) {
    protocol::RequestMessage m;
    m.request_id = id;
    m.user_id = "user-1";
    m.key_id = "key-1";
    m.model = model;
    m.prompt = "In the beginning";
    m.prompt_ids = std::move(prompt_ids);
    m.prompt_tokens = static_cast<int64_t>(m.prompt_ids.size());
    m.params.max_tokens = max_tokens;
    m.reserved_tokens = m.prompt_tokens + max_tokens;
    m.created_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    return m;
  }

  // What the gateway does once quota is reserved: record + queue message in one step, then the
  // `queued` event.
  // With `direct`, the message is written leased to the in-process consumer that holds it
  // (Worker::TryStartInProcess).
  void Accept(const protocol::RequestMessage& m,
              std::shared_ptr<store::DirectLease> direct = nullptr) {
    store::RequestRecord rec;
    rec.id = m.request_id;
    rec.user_id = m.user_id;
    rec.key_id = m.key_id;
    rec.model = m.model;
    rec.input_json = "\"" + m.prompt + "\"";
    rec.prompt_tokens = m.prompt_tokens;
    rec.reserved_tokens = m.reserved_tokens;
    rec.created_at = store::FromMillis(m.created_at_ms);
    if (m.deadline_ms > 0) rec.deadline = store::FromMillis(m.deadline_ms);
    store::OutboxMessage out;
    out.queue = queue::RequestQueueName(m.model);
    out.payload = protocol::Serialize(m);
    out.meta.message_id = m.request_id;
    out.meta.model = m.model;
    out.meta.tokens = m.reserved_tokens;
    out.direct = std::move(direct);
    ASSERT_TRUE(store->CreateRequest(rec, out).ok());
    ASSERT_TRUE(bus.Publish(m.request_id, events::EventType::kQueued, "{}").ok());
  }

  store::RequestRecord Record(const std::string& id) {
    auto rec = store->GetRequest(id);
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    return rec.ok() ? *rec : store::RequestRecord{};
  }

  store::testing::TempDir dir;
  std::shared_ptr<store::SqliteDatabase> db;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<queue::SqliteBroker> broker;
  events::LocalEventBus bus;
};

}  // namespace inferline::worker::testing
