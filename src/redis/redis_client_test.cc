// Integration tests of RedisClient against a private redis-server.
#include "redis/redis_client.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "redis/testing/redis_server.h"

namespace inferline::redis {
namespace {

using testing::RedisServer;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    auto c = RedisClient::Open(server_->url(), {.pool_size = 4});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = *c;
  }
  std::unique_ptr<RedisServer> server_;
  std::shared_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, CommandsAndReplies) {
  ASSERT_TRUE(client_->Ping().ok());
  auto set = client_->Command({"SET", "k", std::string("a\0b", 3)});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->str, "OK");
  auto get = client_->Command({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, std::string("a\0b", 3));  // binary-safe
  EXPECT_TRUE(client_->Command({"GET", "missing"})->is_nil());
  auto incr = client_->Command({"INCRBY", "n", "41"});
  EXPECT_EQ(*incr->AsInteger(), 41);
  auto bad = client_->Command({"INCR", "k"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_NE(bad.status().message().find("not an integer"), std::string::npos);
  auto many = client_->Pipeline({{"INCR", "p"}, {"INCR", "p"}, {"GET", "p"}});
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->size(), 3u);
  EXPECT_EQ(*(*many)[2].AsInteger(), 2);
}

TEST_F(RedisClientTest, ScriptsRunWithEvalshaAndSurviveAScriptFlush) {
  RedisScript script("return {KEYS[1], tonumber(ARGV[1]) + 1}");
  auto r = client_->Eval(script, {"key"}, {"41"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].str, "key");
  EXPECT_EQ(r->elements[1].integer, 42);
  EXPECT_EQ(script.sha().size(), 40u);
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  r = client_->Eval(script, {"key"}, {"1"});  // NOSCRIPT -> EVAL
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->elements[1].integer, 2);
  auto exists = client_->Command({"SCRIPT", "EXISTS", script.sha()});
  EXPECT_EQ(exists->elements.at(0).integer, 1);
  RedisScript broken("return redis.call('NOPE')");
  EXPECT_EQ(client_->Eval(broken, {}, {}).status().code(), StatusCode::kInternal);
}

TEST_F(RedisClientTest, UnavailableWhileDownThenRecovers) {
  ASSERT_TRUE(client_->Ping().ok());
  server_->Kill();
  Status down = client_->Ping();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable);
  EXPECT_NE(down.message().find(std::to_string(server_->port())), std::string::npos)
      << down.ToString();
  ASSERT_TRUE(server_->Restart().ok());
  Status up;
  for (int i = 0; i < 100; ++i) {  // the reconnect backoff is 250 ms
    up = client_->Ping();
    if (up.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(up.ok()) << up.ToString();
}

TEST_F(RedisClientTest, APooledConnectionKilledByARestartIsReplacedTransparently) {
  ASSERT_TRUE(client_->Command({"SET", "a", "1"}).ok());
  ASSERT_TRUE(server_->Restart().ok());  // the pool still holds a connection to the old server
  auto r = client_->Command({"GET", "a"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->is_nil());  // the new server started empty
}

TEST_F(RedisClientTest, BadUrlAndWrongPassword) {
  EXPECT_EQ(RedisClient::Open("redis://h:99999").status().code(), StatusCode::kInvalidArgument);
  auto c = RedisClient::Open(fmt::format("redis://:wrong@127.0.0.1:{}", server_->port()));
  ASSERT_TRUE(c.ok());
  Status st = (*c)->Ping();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("password"), std::string::npos) << st.ToString();
  EXPECT_EQ(st.message().find("wrong"), std::string::npos) << st.ToString();
}

TEST_F(RedisClientTest, ThePoolIsBoundedAndSharedByManyThreads) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!client_->Command({"INCR", "shared"}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*client_->Command({"GET", "shared"})->AsInteger(), 16 * 200);
  auto clients = client_->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok());
  size_t lines = 0;
  for (char ch : clients->str) lines += ch == '\n';
  EXPECT_LE(lines, 4u);  // pool_size
}

// Collects the outcomes of async calls and waits for a number of them.
class Outcomes {
 public:
  RedisClient::EvalDone Slot(size_t i) {
    return [this, i](Result<std::vector<Reply>> r) {
      std::lock_guard lock(mu_);
      got_.emplace(i, std::move(r));
      cv_.notify_all();
    };
  }
  void Wait(size_t n) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return got_.size() >= n; }))
        << got_.size() << " of " << n;
  }
  Result<std::vector<Reply>>& at(size_t i) { return got_.at(i); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, Result<std::vector<Reply>>> got_;
};

// Async calls from many threads at once: each gets its own script reply and the replies of its
// own commands (which see the script's effect, and no other call's in between).
TEST_F(RedisClientTest, AsyncCallsArePipelinedAndEachGetsItsOwnReplies) {
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  Outcomes out;
  constexpr int kThreads = 8, kPerThread = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        size_t n = static_cast<size_t>(t * kPerThread + i);
        std::string key = fmt::format("k{}", n % 10);
        client_->EvalThenAsync(script, {key}, {"1"}, {{"GET", key}, {"ECHO", std::to_string(n)}},
                               out.Slot(n));
      }
    });
  }
  for (auto& t : threads) t.join();
  out.Wait(kThreads * kPerThread);
  for (size_t n = 0; n < kThreads * kPerThread; ++n) {
    auto& r = out.at(n);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].integer, *(*r)[1].AsInteger());  // GET right behind its own script
    EXPECT_EQ((*r)[2].str, std::to_string(n));
  }
  int64_t total = 0;
  for (int k = 0; k < 10; ++k) {
    total += *client_->Command({"GET", fmt::format("k{}", k)})->AsInteger();
  }
  EXPECT_EQ(total, kThreads * kPerThread);
}

TEST_F(RedisClientTest, AsyncCallsSurviveAScriptFlushAndReportScriptErrors) {
  RedisScript script("return tonumber(ARGV[1]) + 1");
  Outcomes out;
  client_->EvalThenAsync(script, {}, {"1"}, {}, out.Slot(0));  // loads the script
  out.Wait(1);
  ASSERT_TRUE(out.at(0).ok()) << out.at(0).status().ToString();
  EXPECT_EQ((*out.at(0))[0].integer, 2);
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  client_->EvalThenAsync(script, {}, {"2"}, {{"PING"}}, out.Slot(1));  // NOSCRIPT -> EVAL
  RedisScript broken("return redis.call('NOPE')");
  client_->EvalThenAsync(broken, {}, {}, {}, out.Slot(2));
  out.Wait(3);
  ASSERT_TRUE(out.at(1).ok()) << out.at(1).status().ToString();
  EXPECT_EQ((*out.at(1))[0].integer, 3);
  EXPECT_EQ((*out.at(1))[1].str, "PONG");
  EXPECT_EQ(out.at(2).status().code(), StatusCode::kInternal);
}

TEST_F(RedisClientTest, AsyncCallsAreUnavailableWhileDownAndAnsweredAtShutdown) {
  RedisScript script("return 7");
  Outcomes out;
  server_->Kill();
  client_->EvalThenAsync(script, {}, {}, {}, out.Slot(0));
  out.Wait(1);
  EXPECT_EQ(out.at(0).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the reconnect backoff
  for (size_t i = 1; i <= 50; ++i) client_->EvalThenAsync(script, {}, {}, {}, out.Slot(i));
  client_.reset();  // the destructor answers everything queued before it returns
  out.Wait(51);
  for (size_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(out.at(i).ok()) << i << ": " << out.at(i).status().ToString();
    EXPECT_EQ((*out.at(i))[0].integer, 7);
  }
}

// A batch that times out is not sent again: the server may still run it (late), and a
// reservation or an event must not happen twice.
TEST_F(RedisClientTest, AnAsyncCallThatTimesOutIsNotResent) {
  auto c = RedisClient::Open(server_->url(), {.pool_size = 2,
                                              .command_timeout = std::chrono::milliseconds(300)});
  ASSERT_TRUE(c.ok());
  std::shared_ptr<RedisClient> client = *c;
  RedisScript incr("return redis.call('INCR', KEYS[1])");
  Outcomes out;
  client->EvalThenAsync(incr, {"n"}, {}, {}, out.Slot(0));  // loads the script, pools the link
  out.Wait(1);
  ASSERT_TRUE(out.at(0).ok()) << out.at(0).status().ToString();
  // Another client keeps the server busy for a second (a script blocks Redis).
  std::thread busy([&] {
    (void)client_->Command({"EVAL",
                            "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] "
                            "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] > s + 1e6 "
                            "return 1",
                            "0"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  client->EvalThenAsync(incr, {"n"}, {}, {}, out.Slot(1));
  out.Wait(2);
  busy.join();
  EXPECT_EQ(out.at(1).status().code(), StatusCode::kUnavailable);
  // The server ran the timed-out call once, after the busy script; never twice.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(*client_->Command({"GET", "n"})->AsInteger(), 2);
}

// DrainAsync returns once every call, and every call their callbacks made, was answered.
TEST_F(RedisClientTest, DrainAsyncWaitsForCallsAndTheCallsTheyMake) {
  RedisScript script("return redis.call('INCR', KEYS[1])");
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    client_->EvalThenAsync(script, {"d"}, {}, {}, [&](Result<std::vector<Reply>> r) {
      if (r.ok()) ++answered;
      client_->EvalThenAsync(script, {"d"}, {}, {}, [&](Result<std::vector<Reply>> again) {
        if (again.ok()) ++answered;
      });
    });
  }
  client_->DrainAsync();
  EXPECT_EQ(answered.load(), 200);
  EXPECT_EQ(*client_->Command({"GET", "d"})->AsInteger(), 200);
}

}  // namespace
}  // namespace inferline::redis
