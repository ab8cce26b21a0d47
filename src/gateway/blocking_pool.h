// BlockingPool and RunBlocking: how a handler coroutine calls a blocking seam (Store, Broker,
// QuotaLedger, a tokenizer on a long prompt) without blocking its HTTP I/O thread.
//
//   Result<RequestRecord> rec = co_await RunBlocking(pool, [&] { return store.GetRequest(id); });
//
// The function runs on one of the pool's threads; the coroutine resumes on its own executor
// (the connection's strand) with the result. References captured by the function stay valid
// because the coroutine frame is suspended until the function has returned. A pending call is
// not cancellable: an interrupt of the connection takes effect once the call has finished.
// Exceptions thrown by the function are rethrown in the coroutine.
//
// The pool is deliberately larger than the number of cores: its threads mostly wait on SQLite's
// group-commit writer, and more waiters make bigger (cheaper) commit batches.
//
// Thread-safety: RunBlocking may be called from any coroutine; Stop() and the destructor join
// the threads and must not run on a pool thread.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace inferline::gateway {

class BlockingPool {
 public:
  explicit BlockingPool(int threads) : pool_(static_cast<size_t>(threads > 0 ? threads : 1)) {}
  ~BlockingPool() { Stop(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Finishes the queued calls, then joins the threads. Idempotent.
  void Stop() { pool_.join(); }

  boost::asio::thread_pool& pool() { return pool_; }
  auto executor() { return pool_.get_executor(); }

 private:
  boost::asio::thread_pool pool_;
};

template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> RunBlocking(BlockingPool& pool, F fn) {
  using R = std::invoke_result_t<F&>;
  std::optional<R> out;
  std::exception_ptr error;
  co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
      [&](auto handler) {
        boost::asio::post(pool.pool(), [&, handler = std::move(handler)]() mutable {
          try {
            out.emplace(fn());
          } catch (...) {
            error = std::current_exception();
          }
          auto ex = boost::asio::get_associated_executor(handler);
          boost::asio::dispatch(ex, std::move(handler));
        });
      },
      boost::asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  co_return std::move(*out);
}

// Runs `fn` on the pool without waiting for it: for clean-up after a handler's answer (the
// answer is written when the handler returns, so awaiting it there would delay the client).
template <class F>
void RunDetached(BlockingPool& pool, F fn) {
  boost::asio::post(pool.pool(), std::move(fn));
}

}  // namespace inferline::gateway
