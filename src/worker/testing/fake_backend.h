// FakeBackend: a scriptable ModelBackend for tests of the worker and the pipeline. Each request
// plays a FakeScript on its own thread: its pieces one by one as tokens, then on_done with
// usage {prompt tokens, pieces played}. A script can fail at Submit or midway, and can `hold`
// before each token until the test releases it, which makes concurrency and cancel-while-running
// tests deterministic (no sleeps).
//
// Thread-safety: every method may be called from any thread. mu_ guards all state.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "worker/model_backend.h"

namespace inferline::worker::testing {

struct FakeScript {
  std::vector<std::string> pieces = {"In", " the", " beginning"};
  std::string finish_reason = "length";  // when every piece was played
  int64_t prompt_tokens = -1;            // -1: the message's prompt_tokens
  Status submit_error;                   // not ok: Submit fails with it
  Status error;                          // not ok: fails after fail_after pieces
  int fail_after = 0;
  bool hold = false;  // wait for a Release() before each piece
};

class FakeBackend final : public ModelBackend {
 public:
  explicit FakeBackend(int slots = 4);
  ~FakeBackend() override;

  // The script of requests without their own; and of one request id.
  void SetDefaultScript(FakeScript script);
  void SetScript(const std::string& request_id, FakeScript script);
  // Lets `tokens` more held pieces play (shared by every holding request).
  void Release(int tokens);
  // Stops holding altogether.
  void ReleaseAll();

  Result<std::unique_ptr<BackendHandle>> Submit(const protocol::RequestMessage& request,
                                                BackendCallbacks callbacks) override;
  int FreeSlots() const override;
  int ActiveSequences() const override;
  void Shutdown() override;

  // Waits (up to `timeout`, generous in tests) until `n` requests are active at once.
  bool WaitForActive(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until `n` pieces were played in total (each after its on_token callback returned).
  bool WaitForPlayed(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until `n` requests were submitted in total.
  bool WaitForSubmitted(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  int submitted() const;
  int max_active() const;
  int cancels() const;
  std::vector<std::string> submitted_ids() const;

  struct Run;

 private:
  void Play(std::shared_ptr<Run> run);

  const int slots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  FakeScript default_script_;
  std::map<std::string, FakeScript> scripts_;
  int permits_ = 0;
  bool hold_released_ = false;
  bool shutdown_ = false;
  int active_ = 0;
  int max_active_ = 0;
  int cancels_ = 0;
  int pieces_played_ = 0;
  std::vector<std::string> submitted_ids_;
  std::vector<std::shared_ptr<Run>> runs_;
  std::vector<std::thread> threads_;
};

}  // namespace inferline::worker::testing
