#include "http/async_signal.h"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <thread>

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Result = AsyncSignal::WaitResult;

// An io_context on its own thread, like an HttpServer io thread.
struct IoThread {
  IoThread() : thread_([this] { ioc_.run(); }) {}
  ~IoThread() {
    work_.reset();
    thread_.join();
  }
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  asio::strand<asio::io_context::executor_type> strand_{asio::make_strand(ioc_)};
  std::thread thread_;
};

// Polls until the signal has `n` waiters (bounded, so a bug fails instead of hanging).
bool AwaitWaiters(const AsyncSignal& signal, size_t n) {
  for (int i = 0; i < 5000; ++i) {
    if (signal.waiters() == n) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

TEST(AsyncSignalTest, NotifyBeforeWaitIsNotLost) {
  AsyncSignal signal;
  asio::io_context ioc;
  uint64_t seen = signal.epoch();
  signal.Notify();  // happens between "check the condition" and "wait"
  auto result = asio::co_spawn(ioc, signal.WaitFor(seen, 10s), asio::use_future);
  ioc.run();
  EXPECT_EQ(result.get(), Result::kNotified);
}

TEST(AsyncSignalTest, TimesOut) {
  AsyncSignal signal;
  asio::io_context ioc;
  auto result = asio::co_spawn(ioc, signal.Wait(20ms), asio::use_future);
  ioc.run();
  EXPECT_EQ(result.get(), Result::kTimeout);
  EXPECT_EQ(signal.waiters(), 0u);
}

TEST(AsyncSignalTest, NotifyFromAnotherThreadWakesEveryWaiter) {
  AsyncSignal signal;
  IoThread io;
  auto first = asio::co_spawn(io.strand_, signal.Wait(30s), asio::use_future);
  auto second =
      asio::co_spawn(asio::make_strand(io.ioc_), signal.Wait(30s), asio::use_future);
  ASSERT_TRUE(AwaitWaiters(signal, 2));
  signal.Notify();  // from the test thread, not an io thread
  ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(second.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(first.get(), Result::kNotified);
  EXPECT_EQ(second.get(), Result::kNotified);
  EXPECT_EQ(signal.waiters(), 0u);
}

TEST(AsyncSignalTest, CancellationEndsTheWait) {
  AsyncSignal signal;
  IoThread io;
  asio::cancellation_signal cancel;
  auto result = asio::co_spawn(io.strand_, signal.Wait(30s),
                               asio::bind_cancellation_slot(cancel.slot(), asio::use_future));
  ASSERT_TRUE(AwaitWaiters(signal, 1));
  asio::post(io.strand_, [&] { cancel.emit(asio::cancellation_type::terminal); });
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), Result::kCancelled);
}

}  // namespace
}  // namespace inferline::http
