#include "http/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "http/connection.h"
#include "http/http_metrics.h"

namespace inferline::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// Threads: Start/Shutdown/Wait from any thread. Each io thread runs its own event loop
// (io_context with concurrency hint 1), so a connection's handlers never need a strand and the
// loops never contend on a shared scheduler. The accept loop, the grace timer and the work guards
// live on loop 0; connections are spread over the loops round-robin.
class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Router router, metrics::Registry& registry)
      : loops_(MakeLoops(options.io_threads)),
        options_(std::move(options)),
        router_(std::move(router)),
        metrics_(registry),
        env_{options_, router_, metrics_, stopping_,
             [this](Connection* c) { OnConnectionClosed(c); }} {
    for (auto& loop : loops_) work_.emplace_back(loop->get_executor());
  }

  Status Start();
  void Shutdown(std::chrono::milliseconds grace);
  void Wait();

  uint16_t port() const { return port_; }
  bool stopping() const { return stopping_.load(); }
  const HttpServerOptions& options() const { return options_; }

 private:
  using Loop = asio::io_context;
  using WorkGuard = asio::executor_work_guard<Loop::executor_type>;

  static std::vector<std::unique_ptr<Loop>> MakeLoops(int io_threads) {
    std::vector<std::unique_ptr<Loop>> loops;
    for (int i = 0; i < std::max(io_threads, 1); ++i) loops.push_back(std::make_unique<Loop>(1));
    return loops;
  }
  Loop::executor_type control() { return loops_[0]->get_executor(); }

  asio::awaitable<void> AcceptLoop();
  void OnConnectionClosed(Connection* connection);
  void ForceCloseAll();
  void ReleaseLoops();  // loop 0 only
  std::vector<std::shared_ptr<Connection>> Snapshot();

  // The loops are declared first so they are destroyed last, after every I/O object.
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<WorkGuard> work_;  // loop 0 only, once started
  HttpServerOptions options_;
  Router router_;
  HttpMetrics metrics_;
  std::atomic<bool> stopping_{false};
  ConnectionEnv env_;
  tcp::acceptor acceptor_{control()};
  asio::steady_timer grace_timer_{control()};
  asio::steady_timer last_resort_timer_{control()};
  std::chrono::milliseconds grace_{0};  // loop 0 only
  size_t next_loop_ = 0;                // accept loop only
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;

  std::mutex mu_;  // guards connections_ and started_
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  bool started_ = false;
};

void HttpServer::Impl::ReleaseLoops() {
  for (auto& guard : work_) guard.reset();
}

Status HttpServer::Impl::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return FailedPrecondition("http server already started");
    started_ = true;
  }
  error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("invalid listen address: " + options_.host, "host");
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ReleaseLoops();
    return Unavailable(fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port,
                                   ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), [](std::exception_ptr e) {
    if (e) log::Error("http: accept loop ended with an exception");
  });
  for (auto& loop : loops_) {
    threads_.emplace_back([loop = loop.get(), n = threads_.size()] {
      NameThisThread("http-io-" + std::to_string(n));
      try {
        loop->run();
      } catch (const std::exception& e) {
        log::Error("http: io thread stopped by an exception: {}", e.what());
      }
    });
  }
  return Status::Ok();
}

asio::awaitable<void> HttpServer::Impl::AcceptLoop() {
  while (!stopping_.load()) {
    Loop& loop = *loops_[next_loop_++ % loops_.size()];
    auto [ec, socket] =
        co_await acceptor_.async_accept(loop.get_executor(), asio::as_tuple(asio::use_awaitable));
    if (stopping_.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Out of descriptors or a transient network error: back off instead of spinning.
      log::Warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    // Synchronous sends return would_block instead of waiting (Connection::Write's fast path).
    socket.non_blocking(true, ec);
    auto connection = std::make_shared<Connection>(std::move(socket), env_);
    {
      std::lock_guard lock(mu_);
      connections_.emplace(connection.get(), connection);
    }
    metrics_.connections.Inc();
    metrics_.connections_accepted_total.Inc();
    asio::co_spawn(connection->executor(), connection->Run(),
                   asio::bind_cancellation_slot(connection->cancellation_slot(),
                                                [](std::exception_ptr e) {
                                                  if (e) log::Error("http: connection failed");
                                                }));
  }
}

void HttpServer::Impl::OnConnectionClosed(Connection* connection) {
  metrics_.connections.Dec();
  bool drained = false;
  {
    std::lock_guard lock(mu_);
    connections_.erase(connection);
    drained = connections_.empty() && stopping_.load();
  }
  if (drained) {
    asio::post(control(), [this] {
      grace_timer_.cancel();
      last_resort_timer_.cancel();
    });
  }
}

std::vector<std::shared_ptr<Connection>> HttpServer::Impl::Snapshot() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(connections_.size());
  for (auto& [ptr, connection] : connections_) out.push_back(connection);
  return out;
}

void HttpServer::Impl::Shutdown(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    if (!started_ || threads_.empty()) {
      ReleaseLoops();
      return;
    }
  }
  asio::post(acceptor_.get_executor(), [this] {
    error_code ec;
    acceptor_.close(ec);
  });
  for (auto& connection : Snapshot()) connection->BeginShutdown();
  asio::post(control(), [this, grace] {
    grace_ = grace;
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](error_code) {
      ForceCloseAll();
      ReleaseLoops();
    });
    // Every connection may have closed before the timer was armed.
    std::lock_guard lock(mu_);
    if (connections_.empty()) grace_timer_.cancel();
  });
}

void HttpServer::Impl::ForceCloseAll() {
  auto remaining = Snapshot();
  if (remaining.empty()) return;
  if (grace_.count() > 0) {
    log::Warn("http: force-closing {} connection(s) after the {} ms shutdown grace period",
              remaining.size(), grace_.count());
  }
  for (auto& connection : remaining) connection->ForceClose();
  // A handler stuck on something that ignores cancellation must not keep the process alive.
  last_resort_timer_.expires_after(std::chrono::seconds(2));
  last_resort_timer_.async_wait([this](error_code) {
    std::lock_guard lock(mu_);
    if (!connections_.empty()) {
      log::Error("http: {} connection(s) did not close; stopping the io threads",
                 connections_.size());
      for (auto& loop : loops_) loop->stop();
    }
  });
}

void HttpServer::Impl::Wait() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

HttpServer::HttpServer(HttpServerOptions options, Router router, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), registry)) {}

HttpServer::~HttpServer() {
  impl_->Shutdown(std::chrono::milliseconds(0));
  impl_->Wait();
}

Status HttpServer::Start() { return impl_->Start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Shutdown() { impl_->Shutdown(impl_->options().shutdown_grace); }
void HttpServer::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }
bool HttpServer::stopping() const { return impl_->stopping(); }
void HttpServer::Wait() { impl_->Wait(); }

}  // namespace inferline::http
