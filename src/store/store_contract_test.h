// Contract tests of the Store seam, reusable by every implementation: instantiate with an
// environment type that provides
//   std::shared_ptr<Store> store();  // the store under test
//   void Restart();                  // drop it and open a new one on the same data
// e.g. INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreContractTest, ::testing::Types<SqliteEnv>);
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "store/store.h"

namespace inferline::store::contract {

inline Time T(int64_t ms) { return FromMillis(ms); }

inline RequestRecord MakeRecord(const std::string& id, const std::string& user,
                                int64_t created_ms) {
  RequestRecord r;
  r.id = id;
  r.user_id = user;
  r.key_id = "key-" + user;
  r.model = "tiny";
  r.kind = RequestKind::kChat;
  r.input_json = R"([{"role":"user","content":"hi"}])";
  r.params_json = R"({"max_tokens":16})";
  r.stream = true;
  r.prompt_tokens = 5;
  r.reserved_tokens = 21;
  r.created_at = T(created_ms);
  r.deadline = T(created_ms + 60000);
  return r;
}

inline RequestOutcome Completed(int64_t prompt, int64_t completion, int64_t at_ms) {
  RequestOutcome o;
  o.status = RequestStatus::kCompleted;
  o.output_text = "hello there";
  o.finish_reason = "stop";
  o.usage = TokenUsage{prompt, completion};
  o.worker_id = "w1";
  o.finished_at = T(at_ms);
  return o;
}

template <class Env>
class StoreContractTest : public ::testing::Test {
 protected:
  Store& store() { return *env_.store(); }
  void Restart() { env_.Restart(); }
  Env env_;
};

TYPED_TEST_SUITE_P(StoreContractTest);

TYPED_TEST_P(StoreContractTest, UsersRoundTripAndPage) {
  Store& s = this->store();
  for (const char* id : {"carol", "alice", "bob"}) {
    ASSERT_TRUE(s.CreateUser(User{id, "free", R"({"daily_tokens":10})", T(1000)}).ok());
  }
  EXPECT_EQ(s.CreateUser(User{"bob", "pro", "{}", T(0)}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.CreateUser(User{"", "pro", "{}", T(0)}).code(), StatusCode::kInvalidArgument);
  auto alice = s.GetUser("alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->plan, "free");
  EXPECT_EQ(alice->limits_json, R"({"daily_tokens":10})");
  EXPECT_EQ(alice->created_at, T(1000));
  ASSERT_TRUE(s.UpdateUser(User{"alice", "pro", "{}", {}}).ok());
  EXPECT_EQ(s.GetUser("alice")->plan, "pro");
  EXPECT_EQ(s.UpdateUser(User{"zed", "pro", "{}", {}}).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetUser("zed").status().code(), StatusCode::kNotFound);

  auto p1 = s.ListUsers({.limit = 2});
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_EQ(p1->items[0].id, "alice");
  EXPECT_EQ(p1->items[1].id, "bob");
  ASSERT_FALSE(p1->next_cursor.empty());
  auto p2 = s.ListUsers({.limit = 2, .cursor = p1->next_cursor});
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0].id, "carol");
  EXPECT_TRUE(p2->next_cursor.empty());
  EXPECT_EQ(s.ListUsers({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreContractTest, ApiKeysStoreOnlyTheHashAndRevokeOnce) {
  Store& s = this->store();
  ApiKey k;
  k.id = "k1";
  k.user_id = "alice";
  k.name = "laptop";
  k.secret_hash = std::string(64, 'a');
  k.prefix = "il-aaaa";
  k.is_admin = true;
  k.scopes = "admin requests";
  k.created_at = T(5);
  ASSERT_TRUE(s.CreateApiKey(k).ok());
  ApiKey dup = k;
  dup.id = "k2";  // same secret hash
  EXPECT_EQ(s.CreateApiKey(dup).code(), StatusCode::kAlreadyExists);
  ApiKey bad = k;
  bad.id = "k3";
  bad.secret_hash = "plain-secret";
  EXPECT_EQ(s.CreateApiKey(bad).code(), StatusCode::kInvalidArgument);

  auto found = s.FindApiKeyByHash(std::string(64, 'a'));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, "k1");
  EXPECT_TRUE(found->is_admin);
  EXPECT_EQ(found->scopes, "admin requests");
  EXPECT_FALSE(found->revoked_at.has_value());
  EXPECT_EQ(s.FindApiKeyByHash(std::string(64, 'b')).status().code(), StatusCode::kNotFound);

  EXPECT_EQ(*s.RevokeApiKey("k1", T(9)), true);
  EXPECT_EQ(*s.RevokeApiKey("k1", T(10)), false);
  EXPECT_EQ(s.RevokeApiKey("nope", T(10)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetApiKey("k1")->revoked_at, T(9));
  ASSERT_EQ(s.ListApiKeys("alice")->size(), 1u);
  EXPECT_TRUE(s.ListApiKeys("bob")->empty());
  EXPECT_EQ(s.ListApiKeys("")->size(), 1u);
}

TYPED_TEST_P(StoreContractTest, RequestLifecycleAndIdempotentFinalize) {
  Store& s = this->store();
  RequestRecord r = MakeRecord("r1", "alice", 1000);
  ASSERT_TRUE(s.CreateRequest(r, std::nullopt).ok());
  EXPECT_EQ(s.CreateRequest(r, std::nullopt).code(), StatusCode::kAlreadyExists);
  auto got = s.GetRequest("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, RequestStatus::kQueued);
  EXPECT_EQ(got->kind, RequestKind::kChat);
  EXPECT_EQ(got->input_json, r.input_json);
  EXPECT_EQ(got->params_json, r.params_json);
  EXPECT_TRUE(got->stream);
  EXPECT_EQ(got->reserved_tokens, 21);
  EXPECT_EQ(got->deadline, r.deadline);
  EXPECT_FALSE(got->usage.has_value());

  EXPECT_EQ(*s.MarkRunning("r1", "w1", T(2000)), true);
  EXPECT_EQ(*s.MarkRunning("r1", "w2", T(3000)), true);  // redelivery after a crash
  got = s.GetRequest("r1");
  EXPECT_EQ(got->status, RequestStatus::kRunning);
  EXPECT_EQ(got->attempts, 2);
  EXPECT_EQ(got->worker_id, "w2");
  EXPECT_EQ(got->started_at, T(3000));

  EXPECT_EQ(*s.FinalizeRequest("r1", Completed(5, 7, 4000)), true);
  RequestOutcome second = Completed(5, 99, 5000);
  second.status = RequestStatus::kFailed;
  EXPECT_EQ(*s.FinalizeRequest("r1", second), false);  // terminal rows never change
  got = s.GetRequest("r1");
  EXPECT_EQ(got->status, RequestStatus::kCompleted);
  EXPECT_EQ(got->output_text, "hello there");
  EXPECT_EQ(got->finish_reason, "stop");
  ASSERT_TRUE(got->usage.has_value());
  EXPECT_EQ(got->usage->completion_tokens, 7);
  EXPECT_EQ(got->usage->total(), 12);
  EXPECT_EQ(got->finished_at, T(4000));
  EXPECT_EQ(*s.MarkRunning("r1", "w3", T(6000)), false);
  EXPECT_EQ(*s.CancelRequest("r1", T(6000)), (CancelResult{false, RequestStatus::kCompleted}));

  auto usage = s.AggregateUsage({.user_id = "alice", .from = T(0), .to = T(10000)});
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].requests, 1);
  EXPECT_EQ((*usage)[0].prompt_tokens, 5);
  EXPECT_EQ((*usage)[0].completion_tokens, 7);  // not 99: recorded once

  EXPECT_EQ(s.MarkRunning("nope", "w", T(0)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.FinalizeRequest("nope", Completed(1, 1, 0)).status().code(),
            StatusCode::kNotFound);
  RequestOutcome not_final = Completed(1, 1, 0);
  not_final.status = RequestStatus::kRunning;
  EXPECT_EQ(s.FinalizeRequest("r1", not_final).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreContractTest, CancelOnlyNonTerminalAndBillCancelledWork) {
  Store& s = this->store();
  ASSERT_TRUE(s.CreateRequest(MakeRecord("q", "bob", 10), std::nullopt).ok());
  ASSERT_TRUE(s.CreateRequest(MakeRecord("r", "bob", 20), std::nullopt).ok());
  ASSERT_TRUE(*s.MarkRunning("r", "w1", T(30)));

  EXPECT_EQ(*s.CancelRequest("q", T(40)), (CancelResult{true, RequestStatus::kQueued}));
  EXPECT_EQ(*s.CancelRequest("q", T(41)), (CancelResult{false, RequestStatus::kCancelled}));
  EXPECT_EQ(*s.CancelRequest("r", T(42)), (CancelResult{true, RequestStatus::kRunning}));
  EXPECT_EQ(s.CancelRequest("nope", T(0)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*s.MarkRunning("q", "w1", T(50)), false);

  // The worker of "r" stops and reports what it spent: the status stays cancelled, the usage
  // is billed once.
  RequestOutcome o = Completed(5, 3, 60);
  o.status = RequestStatus::kCancelled;
  EXPECT_EQ(*s.FinalizeRequest("r", o), false);
  EXPECT_EQ(*s.FinalizeRequest("r", o), false);
  auto r = s.GetRequest("r");
  EXPECT_EQ(r->status, RequestStatus::kCancelled);
  ASSERT_TRUE(r->usage.has_value());
  EXPECT_EQ(r->usage->total(), 8);
  auto usage = s.AggregateUsage({.user_id = "bob", .from = T(0), .to = T(100)});
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].requests, 1);
  EXPECT_EQ((*usage)[0].prompt_tokens + (*usage)[0].completion_tokens, 8);
}

TYPED_TEST_P(StoreContractTest, ListsRequestsNewestFirstInPages) {
  Store& s = this->store();
  for (int i = 0; i < 7; ++i) {
    // Two share a timestamp, so the cursor must break ties by id.
    int64_t at = i < 2 ? 100 : 100 + i;
    ASSERT_TRUE(s.CreateRequest(MakeRecord("r" + std::to_string(i), "u", at), std::nullopt).ok());
  }
  ASSERT_TRUE(s.CreateRequest(MakeRecord("other", "v", 500), std::nullopt).ok());
  std::vector<std::string> seen;
  PageRequest page{.limit = 3};
  for (int guard = 0; guard < 10; ++guard) {
    auto p = s.ListRequestsByUser("u", page);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    for (const auto& r : p->items) seen.push_back(r.id);
    if (p->next_cursor.empty()) break;
    page.cursor = p->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}));
  Status garbage = s.ListRequestsByUser("u", {.limit = 3, .cursor = "garbage"}).status();
  EXPECT_EQ(garbage.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(garbage.param(), "cursor");

  ASSERT_TRUE(*s.MarkRunning("r3", "w", T(1)));
  auto queued = s.ListOpenRequestIds(RequestStatus::kQueued, "", 100);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->size(), 7u);
  EXPECT_EQ(*s.ListOpenRequestIds(RequestStatus::kRunning, "", 100),
            std::vector<std::string>{"r3"});
  EXPECT_EQ(*s.ListOpenRequestIds(RequestStatus::kQueued, "r4", 100),
            (std::vector<std::string>{"r5", "r6"}));
  EXPECT_FALSE(s.ListOpenRequestIds(RequestStatus::kCompleted, "", 100).ok());
}

TYPED_TEST_P(StoreContractTest, AggregatesUsagePerUserModelAndTimeRange) {
  Store& s = this->store();
  struct Row { const char* id; const char* user; const char* model; int64_t p, c, at; };
  for (const Row& row : {Row{"a", "u1", "m1", 1, 2, 100}, Row{"b", "u1", "m1", 3, 4, 200},
                         Row{"c", "u1", "m2", 5, 6, 300}, Row{"d", "u2", "m1", 7, 8, 400},
                         Row{"e", "u1", "m1", 9, 9, 5000}}) {
    RequestRecord r = MakeRecord(row.id, row.user, 0);
    r.model = row.model;
    ASSERT_TRUE(s.CreateRequest(r, std::nullopt).ok());
    ASSERT_TRUE(*s.FinalizeRequest(row.id, Completed(row.p, row.c, row.at)));
  }
  auto all = s.AggregateUsage({.from = T(0), .to = T(1000)});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].user_id, "u1");
  EXPECT_EQ((*all)[0].model, "m1");
  EXPECT_EQ((*all)[0].requests, 2);
  EXPECT_EQ((*all)[0].prompt_tokens, 4);
  EXPECT_EQ((*all)[0].completion_tokens, 6);
  EXPECT_EQ((*all)[1].model, "m2");
  EXPECT_EQ((*all)[2].user_id, "u2");
  auto u2 = s.AggregateUsage({.user_id = "u2", .from = T(0), .to = T(400)});
  EXPECT_TRUE(u2->empty());  // `to` is exclusive
  EXPECT_FALSE(s.AggregateUsage({.from = T(10), .to = T(5)}).ok());
}

TYPED_TEST_P(StoreContractTest, EverythingSurvivesARestart) {
  {
    Store& s = this->store();
    ASSERT_TRUE(s.CreateUser(User{"alice", "free", "{}", T(1)}).ok());
    ASSERT_TRUE(s.CreateRequest(MakeRecord("r1", "alice", 10), std::nullopt).ok());
    ASSERT_TRUE(s.CreateRequest(MakeRecord("r2", "alice", 11), std::nullopt).ok());
    ASSERT_TRUE(*s.FinalizeRequest("r2", Completed(2, 3, 12)));
  }
  this->Restart();
  Store& s = this->store();
  EXPECT_TRUE(s.GetUser("alice").ok());
  EXPECT_EQ(s.GetRequest("r1")->status, RequestStatus::kQueued);
  EXPECT_EQ(s.GetRequest("r2")->status, RequestStatus::kCompleted);
  EXPECT_EQ(*s.FinalizeRequest("r2", Completed(2, 3, 12)), false);
  auto usage = s.AggregateUsage({.from = T(0), .to = T(100)});
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].completion_tokens, 3);
}

REGISTER_TYPED_TEST_SUITE_P(StoreContractTest, UsersRoundTripAndPage,
                            ApiKeysStoreOnlyTheHashAndRevokeOnce,
                            RequestLifecycleAndIdempotentFinalize,
                            CancelOnlyNonTerminalAndBillCancelledWork,
                            ListsRequestsNewestFirstInPages,
                            AggregatesUsagePerUserModelAndTimeRange, EverythingSurvivesARestart);

}  // namespace inferline::store::contract

