#include "gateway/testing/test_platform.h"

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "gateway/api_keys.h"
#include "protocol/messages.h"

namespace inferline::gateway::testing {
namespace json = boost::json;

namespace {

template <class T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.status().ToString());
  return std::move(*r);
}

void Must(const Status& st, const char* what) {
  if (!st.ok()) throw std::runtime_error(std::string(what) + ": " + st.ToString());
}

std::filesystem::path ModelDir() {
  const char* src = std::getenv("INFERLINE_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / "models" / "kjv-small";
}

}  // namespace

TestPlatform::TestPlatform() {
  db = Must(store::SqliteDatabase::Open({.path = dir.File("inferline.db")}), "open database");
  store = std::make_unique<store::SqliteStore>(db);
  broker = std::make_unique<queue::SqliteBroker>(db);
  ledger = Must(quota::LocalQuotaLedger::Open(db, quota::Clock::now()), "open ledger");
  bus = std::make_unique<events::LocalEventBus>();
  ServedModel m;
  m.name = kModelName;
  m.tokenizer = Must(engine::Tokenizer::Load(ModelDir()), "load tokenizer");
  m.context_length = 256;
  m.created = 1700000000;
  models.Add(std::move(m));
}

TestPlatform::~TestPlatform() { broker->Shutdown(); }

std::string TestPlatform::AddUser(const std::string& user, const std::string& plan,
                                  const std::string& limits_json, bool admin) {
  IssueKeyRequest req;
  req.user_id = user;
  req.plan = plan;
  req.is_admin = admin;
  auto has = [this](std::string_view p) { return plans.Has(p); };
  IssuedKey k = Must(IssueKey(*store, req, has, store::Clock::now()), "issue key");
  if (limits_json != "{}") {
    store::User u = Must(store->GetUser(user), "get user");
    u.limits_json = limits_json;
    Must(store->UpdateUser(u), "update user");
  }
  return k.secret;
}

bool TestPlatform::ServeOne(const std::vector<std::string>& pieces,
                            std::chrono::milliseconds wait) {
  queue::ConsumeOptions opts;
  opts.wait = wait;
  auto deliveries = Must(broker->Consume(queue::RequestQueueName(kModelName), opts), "consume");
  if (deliveries.empty()) return false;
  const queue::Delivery& d = deliveries.front();
  protocol::RequestMessage msg = Must(protocol::ParseRequestMessage(d.payload), "parse message");
  const store::Time now = store::Clock::now();
  if (!Must(store->MarkRunning(msg.request_id, "test-worker", now), "mark running")) {
    Must(broker->Ack(d), "ack");
    return true;
  }
  (void)bus->Publish(msg.request_id, events::EventType::kStarted,
                     json::serialize(json::object{{"request_id", msg.request_id},
                                                  {"status", "running"}}));
  std::string text;
  for (const auto& p : pieces) {
    text += p;
    (void)bus->Publish(msg.request_id, events::EventType::kToken,
                       json::serialize(json::object{{"text", p}}));
  }
  store::RequestOutcome out;
  out.status = store::RequestStatus::kCompleted;
  out.output_text = text;
  out.finish_reason = "length";
  out.usage = store::TokenUsage{msg.prompt_tokens, static_cast<int64_t>(pieces.size())};
  out.worker_id = "test-worker";
  out.finished_at = store::Clock::now();
  bool finalized = Must(store->FinalizeRequest(msg.request_id, out), "finalize");
  (void)Must(ledger->Settle(msg.request_id, out.usage->total(), store::Clock::now()), "settle");
  if (finalized) {
    json::object data{{"request_id", msg.request_id},
                      {"status", "completed"},
                      {"output_text", text},
                      {"finish_reason", "length"},
                      {"usage", json::object{{"prompt_tokens", out.usage->prompt_tokens},
                                             {"completion_tokens", out.usage->completion_tokens},
                                             {"total_tokens", out.usage->total()}}}};
    (void)bus->Publish(msg.request_id, events::EventType::kCompleted, json::serialize(data));
  }
  Must(broker->Ack(d), "ack");
  return true;
}

}  // namespace inferline::gateway::testing
