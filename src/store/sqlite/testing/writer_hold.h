// Test helper: holds a database's writer inside an operation until released (or destroyed), so
// that the writes queued meanwhile share its next transaction.
//
// Thread-safety: one per test; Release may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "store/sqlite/sqlite_database.h"

namespace inferline::store::testing {

class WriterHold {
 public:
  explicit WriterHold(SqliteDatabase& db) : state_(std::make_shared<State>()) {
    db.WriteAsync([state = state_](WriteTx&) {
      state->entered = true;
      while (!state->released) std::this_thread::yield();
      return Status::Ok();
    });
    while (!state_->entered) std::this_thread::yield();
  }
  ~WriterHold() { Release(); }
  WriterHold(const WriterHold&) = delete;
  WriterHold& operator=(const WriterHold&) = delete;
  void Release() { state_->released = true; }

 private:
  // Shared with the operation, which may still be returning when the hold is gone.
  struct State {
    std::atomic<bool> entered{false};
    std::atomic<bool> released{false};
  };
  std::shared_ptr<State> state_;
};

}  // namespace inferline::store::testing
