// Admission against the real embedded seams and the shipped model's tokenizer: exact token
// counts, max_tokens defaults and context checks, the atomic record + queue message, the
// reservation and its refusal, and the order of events.
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <mutex>

#include "gateway/admission.h"
#include "gateway/authenticator.h"
#include "gateway/testing/test_platform.h"
#include "protocol/messages.h"

namespace inferline::gateway {
namespace {

using testing::TestPlatform;

// The events a subscriber callback received, from any thread.
class EventLog {
 public:
  events::EventCallback Callback() {
    return [this](const events::Event& ev) {
      std::lock_guard lock(mu_);
      events_.push_back(ev);
    };
  }
  std::vector<events::Event> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::vector<events::Event> events_;
};

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest() : admission_(*p_.store, *p_.ledger, *p_.bus, p_.models, {.default_max_tokens = 32}) {}

  Principal User(const std::string& id, quota::Limits limits = {}) {
    Principal pr;
    pr.key_id = "key_" + id;
    pr.user_id = id;
    pr.plan = "test";
    pr.limits = limits;
    return pr;
  }
  GenerationRequest Completion(std::string prompt, std::optional<int> max_tokens = std::nullopt) {
    GenerationRequest r;
    r.model = testing::kModelName;
    r.prompt = std::move(prompt);
    if (max_tokens) {
      r.params.max_tokens = *max_tokens;
      r.max_tokens_given = true;
    }
    return r;
  }
  const engine::Tokenizer& tok() { return *p_.models.Default()->tokenizer; }

  TestPlatform p_;
  Admission admission_;
};

TEST_F(AdmissionTest, CountsPromptTokensExactlyAndQueuesAtomically) {
  std::string prompt = "In the beginning God created the heaven and the earth.";
  AdmitOutcome out = admission_.Admit(User("alice"), Completion(prompt, 10));
  ASSERT_TRUE(out.admitted) << out.failure.status.ToString();
  const Admitted& a = *out.admitted;
  int64_t n = static_cast<int64_t>(tok().Encode(prompt, true).size());
  EXPECT_EQ(a.prompt_tokens, n);
  EXPECT_EQ(a.reserved_tokens, n + 10);

  auto rec = p_.store->GetRequest(a.request_id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status, store::RequestStatus::kQueued);
  EXPECT_EQ(rec->prompt_tokens, n);
  EXPECT_EQ(rec->reserved_tokens, n + 10);
  EXPECT_TRUE(rec->deadline.has_value());

  auto deliveries = p_.broker->Consume(queue::RequestQueueName(testing::kModelName), {});
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  auto msg = protocol::ParseRequestMessage(deliveries->front().payload);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->request_id, a.request_id);
  EXPECT_EQ(msg->prompt_ids, tok().Encode(prompt, true));
  EXPECT_EQ(msg->params.max_tokens, 10);
  EXPECT_EQ(deliveries->front().meta.tokens, n + 10);

  auto usage = p_.ledger->Usage("alice", {}, quota::Clock::now());
  ASSERT_TRUE(usage.ok());
  for (const auto& w : *usage) {
    if (w.window == quota::Window::kDailyTokens) {
      EXPECT_EQ(w.reserved, n + 10);
    }
  }
}

TEST_F(AdmissionTest, ChatPromptIsTheRenderedTemplate) {
  GenerationRequest r;
  r.kind = protocol::RequestKind::kChat;
  r.model = testing::kModelName;
  r.messages = {{"system", "Speak as the Psalms."}, {"user", "Praise the morning."}};
  AdmitOutcome out = admission_.Admit(User("bob"), r);
  ASSERT_TRUE(out.admitted);
  std::vector<engine::Tokenizer::ChatMessage> msgs = {{"system", "Speak as the Psalms."},
                                                      {"user", "Praise the morning."}};
  std::string rendered = *tok().ApplyChatTemplate(msgs, true);
  EXPECT_EQ(out.admitted->prompt.text, rendered);
  EXPECT_EQ(out.admitted->prompt_tokens, static_cast<int64_t>(tok().Encode(rendered).size()));
}

TEST_F(AdmissionTest, DefaultsMaxTokensToFitTheContext) {
  auto a = admission_.Admit(User("u"), Completion("And God said"));
  ASSERT_TRUE(a.admitted);
  EXPECT_EQ(a.admitted->prompt.max_tokens, 32);  // the configured default
  // A prompt close to the context leaves less room than the default.
  std::string long_prompt;
  while (tok().Encode(long_prompt, true).size() < 240) long_prompt += "and the Lord spake ";
  auto b = admission_.Admit(User("u"), Completion(long_prompt));
  ASSERT_TRUE(b.admitted) << b.failure.status.ToString();
  EXPECT_EQ(b.admitted->prompt_tokens + b.admitted->prompt.max_tokens, 256);
}

TEST_F(AdmissionTest, RefusesWhatDoesNotFitTheContext) {
  auto a = admission_.Admit(User("u"), Completion("And God said", 300));
  ASSERT_FALSE(a.admitted);
  EXPECT_EQ(a.failure.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.failure.status.param(), "max_tokens");
  EXPECT_EQ(a.failure.code, "context_length_exceeded");
  std::string huge;
  for (int i = 0; i < 200; ++i) huge += "the heaven and the earth ";
  auto b = admission_.Admit(User("u"), Completion(huge));
  ASSERT_FALSE(b.admitted);
  EXPECT_EQ(b.failure.status.param(), "prompt");
  // Nothing was reserved or queued for the refused requests.
  auto stats = p_.broker->Stats(queue::RequestQueueName(testing::kModelName));
  EXPECT_EQ(stats->ready, 0);
  EXPECT_TRUE(p_.ledger->ListReservations()->empty());
}

TEST_F(AdmissionTest, UnknownModelIs404NamingModel) {
  GenerationRequest r = Completion("x", 1);
  r.model = "gpt-4";
  auto a = admission_.Admit(User("u"), r);
  ASSERT_FALSE(a.admitted);
  EXPECT_EQ(a.failure.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(a.failure.status.param(), "model");
  EXPECT_EQ(a.failure.code, "model_not_found");
}

TEST_F(AdmissionTest, QuotaRefusalNamesTheWindowAndKeepsNothing) {
  quota::Limits limits;
  limits.tokens_per_day = 40;
  Principal u = User("carol", limits);
  auto first = admission_.Admit(u, Completion("And God said", 20));
  ASSERT_TRUE(first.admitted);
  auto second = admission_.Admit(u, Completion("And God said", 20));
  ASSERT_FALSE(second.admitted);
  const AdmitFailure& f = second.failure;
  EXPECT_EQ(f.status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(f.status.param(), "tokens_per_day");
  EXPECT_EQ(f.type, "insufficient_quota");
  ASSERT_TRUE(f.exceeded);
  EXPECT_GE(f.exceeded->retry_after.count(), 1);
  EXPECT_FALSE(f.usage.empty());
  EXPECT_EQ(p_.ledger->ListReservations()->size(), 1u);

  quota::Limits rpm;
  rpm.requests_per_minute = 1;
  Principal v = User("dave", rpm);
  ASSERT_TRUE(admission_.Admit(v, Completion("x", 1)).admitted);
  auto refused = admission_.Admit(v, Completion("x", 1));
  ASSERT_FALSE(refused.admitted);
  EXPECT_EQ(refused.failure.type, "rate_limit_exceeded");
  EXPECT_EQ(refused.failure.result, "rate_limited");
}

// The subscription is made before the record exists, so the first bus event a worker publishes
// reaches it; admission itself publishes nothing (`queued` is derived from the record). A
// streaming request follows every event; a non-streaming one only needs the terminal event and
// so does not count as following the tokens (the worker may then hold them back).
TEST_F(AdmissionTest, SubscribesBeforeRecordingAndPublishesNothing) {
  EventLog log;
  GenerationRequest streamed = Completion("Let there be light", 4);
  streamed.stream = true;
  auto out = admission_.Admit(User("erin"), streamed, log.Callback());
  ASSERT_TRUE(out.admitted);
  EXPECT_TRUE(out.admitted->subscription.active());
  EXPECT_TRUE(log.Events().empty());
  EXPECT_TRUE(p_.bus->HasLiveFollowers(out.admitted->request_id));
  ASSERT_TRUE(p_.bus->Publish(out.admitted->request_id, events::EventType::kStarted, "{}").ok());
  const std::vector<events::Event> seen = log.Events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, 1);
  EXPECT_EQ(seen[0].type, events::EventType::kStarted);
}

TEST_F(AdmissionTest, ANonStreamingAnswerWaitsForTheTerminalEventOnly) {
  EventLog log;
  auto out = admission_.Admit(User("erin"), Completion("Let there be light", 4), log.Callback());
  ASSERT_TRUE(out.admitted);
  const std::string& id = out.admitted->request_id;
  EXPECT_FALSE(p_.bus->HasLiveFollowers(id));
  ASSERT_TRUE(p_.bus->Publish(id, events::EventType::kStarted, "{}").ok());
  ASSERT_TRUE(p_.bus->Publish(id, events::EventType::kToken, R"({"text":"a"})").ok());
  EXPECT_TRUE(log.Events().empty());
  ASSERT_TRUE(p_.bus->Publish(id, events::EventType::kCompleted, "{}").ok());
  const std::vector<events::Event> seen = log.Events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, 3);
  EXPECT_EQ(seen[0].type, events::EventType::kCompleted);
}

// The two halves the I/O-thread path uses: Begin reserves, the write happens
// elsewhere, Finish takes its Status. A failed write refunds the reservation, closes the event
// stream with `failed` and records nothing.
TEST_F(AdmissionTest, BeginThenAFailedWriteRefundsAndClosesTheStream) {
  EXPECT_TRUE(admission_.NonBlocking() == false);  // not without in_process_seams
  Admission inline_admission(*p_.store, *p_.ledger, *p_.bus, p_.models,
                             {.default_max_tokens = 8, .in_process_seams = true});
  EXPECT_TRUE(inline_admission.NonBlocking());  // SqliteStore records without blocking

  EventLog log;
  AdmitStart start =
      inline_admission.Begin(User("frank"), Completion("And the evening", 6), log.Callback());
  ASSERT_TRUE(start.pending) << start.outcome.failure.status.ToString();
  const std::string id = start.pending->admitted.request_id;
  EXPECT_EQ(p_.ledger->ListReservations()->size(), 1u);
  AdmitOutcome out =
      inline_admission.Finish(std::move(*start.pending), Unavailable("disk I/O error"));
  ASSERT_FALSE(out.admitted);
  EXPECT_EQ(out.failure.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(p_.ledger->ListReservations()->empty());  // refunded
  EXPECT_EQ(p_.store->GetRequest(id).status().code(), StatusCode::kNotFound);
  const std::vector<events::Event> seen = log.Events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, events::EventType::kFailed);

  // And a write that succeeds: recorded, queued, the reservation kept.
  start = inline_admission.Begin(User("frank"), Completion("And the morning", 6));
  ASSERT_TRUE(start.pending);
  std::promise<Status> done;
  p_.store->CreateRequestAsync(start.pending->record, start.pending->outbox,
                               [&](Status st) { done.set_value(std::move(st)); });
  const Status created = done.get_future().get();
  ASSERT_TRUE(created.ok()) << created.ToString();
  out = inline_admission.Finish(std::move(*start.pending), created);
  ASSERT_TRUE(out.admitted);
  EXPECT_TRUE(p_.store->GetRequest(out.admitted->request_id).ok());
  EXPECT_EQ(p_.ledger->ListReservations()->size(), 1u);
}

// A ledger answering on another thread, as the Redis ledger's pipeline does.
class ThreadedLedger final : public quota::QuotaLedger {
 public:
  explicit ThreadedLedger(quota::QuotaLedger& inner) : inner_(inner) {}
  ~ThreadedLedger() override {
    for (auto& t : threads_) t.join();
  }
  Result<quota::ReserveOutcome> Reserve(const quota::ReserveRequest& r, const quota::Limits& l,
                                        quota::Time now) override {
    return inner_.Reserve(r, l, now);
  }
  Result<bool> Settle(std::string_view id, int64_t t, quota::Time now,
                      std::optional<int64_t> r) override {
    return inner_.Settle(id, t, now, r);
  }
  Result<std::vector<quota::WindowUsage>> Usage(std::string_view u, const quota::Limits& l,
                                                quota::Time now) override {
    return inner_.Usage(u, l, now);
  }
  Result<std::vector<quota::ReservationInfo>> ListReservations() override {
    return inner_.ListReservations();
  }
  void ReserveReportingUsageAsync(const quota::ReserveRequest& r, const quota::Limits& l,
                                  quota::Time now, ReserveDone done) override {
    threads_.emplace_back([this, r, l, now, done = std::move(done)] {
      done(inner_.ReserveReportingUsage(r, l, now));
    });
  }
  bool ReservesWithoutBlocking() const override { return true; }

 private:
  quota::QuotaLedger& inner_;
  std::vector<std::thread> threads_;
};

// BeginAsync: the reservation answered on another thread, then the same outcome as Begin: a
// pending admission whose record and message match the request, nothing published (the events
// route derives `queued` from the record); or the quota refusal, with nothing kept.
TEST_F(AdmissionTest, BeginAsyncReservesOnTheLedgersThreadWithBeginsOutcome) {
  ThreadedLedger ledger(*p_.ledger);
  Admission async(*p_.store, ledger, *p_.bus, p_.models, {.default_max_tokens = 8});
  // This ledger answers on its own threads and the SQLite store records without blocking.
  EXPECT_TRUE(async.Asynchronous());
  quota::Limits limits;
  limits.tokens_per_day = 20;
  Principal u = User("grace", limits);
  auto begin = [&](const GenerationRequest& r) {
    std::promise<AdmitStart> done;
    async.BeginAsync(u, r, [&](AdmitStart s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  };
  GenerationRequest r = Completion("And God said", 10);
  AdmitStart first = begin(r);
  ASSERT_TRUE(first.pending) << first.outcome.failure.status.ToString();
  const PendingAdmission& p = *first.pending;
  EXPECT_EQ(p.record.id, p.admitted.request_id);
  EXPECT_EQ(p.record.user_id, "grace");
  EXPECT_EQ(p.record.reserved_tokens, p.admitted.prompt_tokens + 10);
  EXPECT_EQ(p.message.prompt_ids.size(), static_cast<size_t>(p.admitted.prompt_tokens));
  EXPECT_FALSE(p.admitted.usage.empty());
  auto described = p_.bus->Describe(p.admitted.request_id);
  ASSERT_TRUE(described.ok());
  EXPECT_FALSE(described->exists);
  EXPECT_EQ(p_.ledger->ListReservations()->size(), 1u);

  AdmitStart second = begin(r);  // 2 x (prompt + 10) > 20
  ASSERT_FALSE(second.pending);
  EXPECT_EQ(second.outcome.failure.status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(second.outcome.failure.status.param(), "tokens_per_day");
  EXPECT_EQ(p_.ledger->ListReservations()->size(), 1u);

  GenerationRequest unknown = r;
  unknown.model = "nope";
  EXPECT_EQ(begin(unknown).outcome.failure.code, "model_not_found");  // decided in place
}

// A ledger whose backend is down (Redis unreachable in the distributed deployment).
class UnreachableLedger final : public quota::QuotaLedger {
 public:
  Result<quota::ReserveOutcome> Reserve(const quota::ReserveRequest&, const quota::Limits&,
                                        quota::Time) override {
    ++reserves;
    return Unavailable("cannot connect to Redis at 10.0.0.7:6379");
  }
  Result<bool> Settle(std::string_view, int64_t, quota::Time, std::optional<int64_t>) override {
    return Unavailable("down");
  }
  Result<std::vector<quota::WindowUsage>> Usage(std::string_view, const quota::Limits&,
                                                quota::Time) override {
    return Unavailable("down");
  }
  Result<std::vector<quota::ReservationInfo>> ListReservations() override {
    return Unavailable("down");
  }
  int reserves = 0;
};

TEST_F(AdmissionTest, UnreachableLedgerFailsClosedWithoutLeakingTheServer) {
  UnreachableLedger ledger;
  Admission closed(*p_.store, ledger, *p_.bus, p_.models, {.default_max_tokens = 8});
  AdmitOutcome out = closed.Admit(User("alice"), Completion("And God said", 4));
  ASSERT_FALSE(out.admitted);
  EXPECT_EQ(out.failure.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(out.failure.status.message().find("10.0.0.7"), std::string::npos)
      << out.failure.status.message();
  EXPECT_EQ(out.failure.code, "quota_unavailable");
  EXPECT_GT(out.failure.retry_after_seconds, 0);
  auto ids = p_.store->ListOpenRequestIds(store::RequestStatus::kQueued, "", 10);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());  // nothing recorded
}

TEST_F(AdmissionTest, UnreachableLedgerFailsOpenWhenConfigured) {
  UnreachableLedger ledger;
  Admission open(*p_.store, ledger, *p_.bus, p_.models,
                 {.default_max_tokens = 8, .quota_fail_open = true});
  AdmitOutcome out = open.Admit(User("alice"), Completion("And God said", 4));
  ASSERT_TRUE(out.admitted) << out.failure.status.ToString();
  EXPECT_TRUE(out.admitted->unmetered);
  EXPECT_EQ(ledger.reserves, 1);
  auto rec = p_.store->GetRequest(out.admitted->request_id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status, store::RequestStatus::kQueued);
}

TEST_F(AdmissionTest, FullQueueIs503WithRetryAfterBeforeAnyReservation) {
  std::string full_model;
  admission_.SetQueueFullCheck([&](const std::string& model) {
    full_model = model;
    return true;
  });
  AdmitOutcome out = admission_.Admit(User("alice"), Completion("And God said", 4));
  ASSERT_FALSE(out.admitted);
  EXPECT_EQ(full_model, testing::kModelName);
  EXPECT_EQ(out.failure.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(out.failure.code, "queue_full");
  EXPECT_EQ(out.failure.result, "queue_full");
  EXPECT_GT(out.failure.retry_after_seconds, 0);
  auto reservations = p_.ledger->ListReservations();
  ASSERT_TRUE(reservations.ok());
  EXPECT_TRUE(reservations->empty());
  admission_.SetQueueFullCheck([](const std::string&) { return false; });
  EXPECT_TRUE(admission_.Admit(User("alice"), Completion("And God said", 4)).admitted);
}

}  // namespace
}  // namespace inferline::gateway
