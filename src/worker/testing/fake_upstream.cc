#include "worker/testing/fake_upstream.h"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "http/async_signal.h"
#include "http/request_context.h"
#include "http/sse_writer.h"
#include "http/testing/test_server.h"

namespace inferline::worker::testing {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::beast::http::verb;
using namespace std::chrono_literals;

struct FakeUpstream::Impl {
  mutable std::mutex mu;  // guards everything up to `released`
  mutable std::condition_variable changed;
  std::deque<FakeReply> script;
  FakeReply default_reply;
  int permits = 0;
  std::vector<SeenRequest> seen;
  int active = 0;
  int max_active = 0;
  int disconnects = 0;
  http::AsyncSignal released;  // Release() was called
  std::atomic<bool> closing{false};  // the fake is being destroyed: its server stops
  // Last, so the server (whose handlers use the fields above) stops first.
  std::unique_ptr<http::testing::TestServer> server;

  asio::awaitable<void> Handle(http::RequestContext& ctx, bool chat);
  asio::awaitable<bool> TakePermit();
  void ClientGone(const http::RequestContext& ctx) {
    if (!ctx.stopping() || closing) return;  // not a client leaving: the server stopping
    std::lock_guard lock(mu);
    ++disconnects;
    changed.notify_all();
  }
};

namespace {

std::string ChunkJson(bool chat, const std::string& model, const std::string* text,
                      const std::string* finish_reason) {
  json::object choice{{"index", 0}};
  if (chat) {
    json::object delta;
    if (text != nullptr) delta["content"] = *text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text != nullptr ? *text : "";
  }
  choice["finish_reason"] = finish_reason != nullptr ? json::value(*finish_reason) : nullptr;
  json::object chunk{{"id", "cmpl-fake"},
                     {"object", chat ? "chat.completion.chunk" : "text_completion"},
                     {"created", 0},
                     {"model", model},
                     {"choices", json::array{std::move(choice)}},
                     {"usage", nullptr}};
  return json::serialize(chunk);
}

std::string UsageJson(const std::string& model, int64_t prompt, int64_t completion) {
  json::object chunk{{"id", "cmpl-fake"},
                     {"object", "text_completion"},
                     {"created", 0},
                     {"model", model},
                     {"choices", json::array{}},
                     {"usage", json::object{{"prompt_tokens", prompt},
                                            {"completion_tokens", completion},
                                            {"total_tokens", prompt + completion}}}};
  return json::serialize(chunk);
}

// Decrements `active` however the handler ends.
struct ActiveGuard {
  FakeUpstream::Impl& s;
  ~ActiveGuard() {
    std::lock_guard lock(s.mu);
    --s.active;
    s.changed.notify_all();
  }
};

}  // namespace

asio::awaitable<bool> FakeUpstream::Impl::TakePermit() {
  for (;;) {
    uint64_t seen_epoch = released.epoch();
    {
      std::lock_guard lock(mu);
      if (permits > 0) {
        --permits;
        co_return true;
      }
    }
    if (co_await released.WaitFor(seen_epoch, 30s) != http::AsyncSignal::WaitResult::kNotified) {
      co_return false;
    }
  }
}

asio::awaitable<void> FakeUpstream::Impl::Handle(http::RequestContext& ctx, bool chat) {
  FakeReply reply;
  {
    std::lock_guard lock(mu);
    seen.push_back({std::string(ctx.path()), ctx.body(), std::string(ctx.header("Authorization"))});
    if (script.empty()) {
      reply = default_reply;
    } else {
      reply = std::move(script.front());
      script.pop_front();
    }
    max_active = std::max(max_active, ++active);
    changed.notify_all();
  }
  ActiveGuard guard{*this};
  if (reply.stall_headers) {
    ctx.InterruptOnShutdown();
    http::AsyncSignal never;
    co_await never.WaitFor(never.epoch(), 30s);
    co_return;
  }
  if (reply.status != 200) {
    if (!reply.retry_after.empty()) ctx.SetHeader("Retry-After", reply.retry_after);
    ctx.Json(static_cast<boost::beast::http::status>(reply.status),
             json::object{{"error", json::object{{"message", reply.error_message},
                                                 {"type", "upstream_error"}}}});
    co_return;
  }
  std::string model = "fake-model";
  boost::system::error_code ec;
  json::value body = json::parse(ctx.body(), ec);
  if (!ec && body.is_object() && body.as_object().contains("model") &&
      body.as_object().at("model").is_string()) {
    model = std::string(body.as_object().at("model").as_string());
  }
  http::SseWriter sse(ctx);
  if (!co_await sse.Start()) co_return ClientGone(ctx);
  if (chat) {
    std::string empty;
    if (!co_await sse.SendData(ChunkJson(chat, model, &empty, nullptr))) co_return ClientGone(ctx);
  }
  int sent = 0;
  for (const std::string& piece : reply.pieces) {
    if (reply.end_after == sent) co_return;
    if (reply.stall_after == sent) {
      http::AsyncSignal never;
      co_await never.WaitFor(never.epoch(), 30s);
      co_return ClientGone(ctx);
    }
    if (reply.hold && !co_await TakePermit()) co_return ClientGone(ctx);
    if (!co_await sse.SendData(ChunkJson(chat, model, &piece, nullptr))) co_return ClientGone(ctx);
    ++sent;
  }
  if (reply.end_after == sent) co_return;
  if (!co_await sse.SendData(ChunkJson(chat, model, nullptr, &reply.finish_reason))) {
    co_return ClientGone(ctx);
  }
  if (reply.usage && !co_await sse.SendData(UsageJson(model, reply.prompt_tokens, sent))) {
    co_return ClientGone(ctx);
  }
  (void)co_await sse.SendData("[DONE]");
}

FakeUpstream::FakeUpstream() : impl_(std::make_unique<Impl>()) {
  http::Router router;
  Impl* s = impl_.get();
  router.Add(verb::post, "/v1/completions",
             [s](http::RequestContext& ctx) { return s->Handle(ctx, false); });
  router.Add(verb::post, "/v1/chat/completions",
             [s](http::RequestContext& ctx) { return s->Handle(ctx, true); });
  impl_->server = std::make_unique<http::testing::TestServer>(std::move(router));
}

FakeUpstream::~FakeUpstream() {
  impl_->closing = true;
  impl_->server.reset();
}

std::string FakeUpstream::base_url() const { return fmt::format("http://127.0.0.1:{}/v1", port()); }
uint16_t FakeUpstream::port() const { return impl_->server->port(); }

void FakeUpstream::Push(FakeReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->script.push_back(std::move(reply));
}

void FakeUpstream::SetDefault(FakeReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->default_reply = std::move(reply);
}

void FakeUpstream::Release(int n) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->permits += n;
  }
  impl_->released.Notify();
}

std::vector<SeenRequest> FakeUpstream::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen;
}

int FakeUpstream::active() const {
  std::lock_guard lock(impl_->mu);
  return impl_->active;
}

int FakeUpstream::max_active() const {
  std::lock_guard lock(impl_->mu);
  return impl_->max_active;
}

int FakeUpstream::disconnects() const {
  std::lock_guard lock(impl_->mu);
  return impl_->disconnects;
}

bool FakeUpstream::WaitUntil(const std::function<bool(const FakeUpstream&)>& pred,
                             std::chrono::milliseconds timeout) const {
  // The predicate takes the lock itself, so wait in short slices instead of on the condition.
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred(*this)) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::unique_lock lock(impl_->mu);
    impl_->changed.wait_for(lock, 5ms);
  }
  return true;
}

}  // namespace inferline::worker::testing
