// AbortSignal: a one-shot "stop now" that any thread can send to an asynchronous operation in
// progress on an event loop, such as a streaming HTTP exchange (HttpClient::SendStreaming) or a
// backoff wait.
//
// The operation says what stopping means by attaching a handler (close its socket, cancel its
// timer) with the executor it runs on. Abort() posts that handler to the executor, so the
// operation's objects are only touched from their own thread; an Abort() that comes before the
// attachment is remembered, and attaching then posts at once. Detaching (the Attachment's
// destructor) must happen on the same executor before the objects the handler touches go away;
// a handler that was posted but has not run yet is then skipped.
//
//   AbortSignal::Attachment attached(signal, executor, [&] { stream.close(); });
//   ... co_await reads on `stream` ...                 // fail with operation_aborted on Abort()
//   if (signal.aborted()) co_return Cancelled(...);
//
// Thread-safety: Abort() and aborted() may be called from any thread. One operation is attached
// at a time. The executor must be a strand or a single-threaded io_context, and must outlive any
// handler posted to it.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace inferline::http {

class AbortSignal {
 public:
  AbortSignal();
  AbortSignal(const AbortSignal&) = delete;
  AbortSignal& operator=(const AbortSignal&) = delete;

  // Asks the attached operation to stop; later calls do nothing.
  void Abort();
  bool aborted() const;

  class Attachment {
   public:
    // `signal` may be null (then nothing is attached).
    Attachment(AbortSignal* signal, boost::asio::any_io_executor executor,
               std::function<void()> on_abort);
    ~Attachment();
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

   private:
    AbortSignal* signal_;
  };

 private:
  struct State {
    std::mutex mu;              // guards everything below
    bool aborted = false;
    uint64_t generation = 0;    // advanced by each attach and detach
    boost::asio::any_io_executor executor;
    std::function<void()> on_abort;
  };
  static void Post(const std::shared_ptr<State>& state, uint64_t generation,
                   const boost::asio::any_io_executor& executor);

  // Shared with posted handlers, so a handler that runs after the signal is gone is harmless.
  std::shared_ptr<State> state_;
};

}  // namespace inferline::http
