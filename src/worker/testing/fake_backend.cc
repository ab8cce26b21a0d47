#include "worker/testing/fake_backend.h"

#include <algorithm>

namespace inferline::worker::testing {

struct FakeBackend::Run {
  protocol::RequestMessage request;
  FakeScript script;
  BackendCallbacks callbacks;
  bool cancelled = false;  // guarded by FakeBackend::mu_
};

namespace {

class FakeHandle final : public BackendHandle {
 public:
  // The backend must outlive its handles (tests destroy the worker first).
  FakeHandle(std::shared_ptr<FakeBackend::Run> run, std::mutex* mu, std::condition_variable* cv,
             int* cancels)
      : run_(std::move(run)), mu_(mu), cv_(cv), cancels_(cancels) {}
  void Cancel() override {
    std::lock_guard lock(*mu_);
    if (!run_->cancelled) ++*cancels_;
    run_->cancelled = true;
    cv_->notify_all();
  }

 private:
  std::shared_ptr<FakeBackend::Run> run_;
  std::mutex* mu_;
  std::condition_variable* cv_;
  int* cancels_;
};

}  // namespace

FakeBackend::FakeBackend(int slots) : slots_(slots) {}

FakeBackend::~FakeBackend() { Shutdown(); }

void FakeBackend::SetDefaultScript(FakeScript script) {
  std::lock_guard lock(mu_);
  default_script_ = std::move(script);
}

void FakeBackend::SetScript(const std::string& request_id, FakeScript script) {
  std::lock_guard lock(mu_);
  scripts_[request_id] = std::move(script);
}

void FakeBackend::Release(int tokens) {
  std::lock_guard lock(mu_);
  permits_ += tokens;
  cv_.notify_all();
}

void FakeBackend::ReleaseAll() {
  std::lock_guard lock(mu_);
  hold_released_ = true;
  cv_.notify_all();
}

Result<std::unique_ptr<BackendHandle>> FakeBackend::Submit(const protocol::RequestMessage& request,
                                                           BackendCallbacks callbacks) {
  auto run = std::make_shared<Run>();
  run->request = request;
  run->callbacks = std::move(callbacks);
  std::lock_guard lock(mu_);
  if (shutdown_) return Unavailable("the fake backend is shut down");
  auto it = scripts_.find(request.request_id);
  run->script = it != scripts_.end() ? it->second : default_script_;
  if (!run->script.submit_error.ok()) return run->script.submit_error;
  submitted_ids_.push_back(request.request_id);
  ++active_;
  max_active_ = std::max(max_active_, active_);
  runs_.push_back(run);
  threads_.emplace_back([this, run] { Play(run); });
  cv_.notify_all();
  return std::unique_ptr<BackendHandle>(
      std::make_unique<FakeHandle>(run, &mu_, &cv_, &cancels_));
}

void FakeBackend::Play(std::shared_ptr<Run> run) {
  const FakeScript& s = run->script;
  BackendResult result;
  result.usage.prompt_tokens = s.prompt_tokens >= 0 ? s.prompt_tokens : run->request.prompt_tokens;
  int played = 0;
  for (const std::string& piece : s.pieces) {
    if (!s.error.ok() && played == s.fail_after) break;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return run->cancelled || shutdown_ || !s.hold || hold_released_ || permits_ > 0;
      });
      if (run->cancelled || shutdown_) break;
      if (s.hold && !hold_released_) --permits_;
    }
    if (run->callbacks.on_token) run->callbacks.on_token(piece, played);
    result.output_text += piece;
    ++played;
    {
      std::lock_guard lock(mu_);
      ++pieces_played_;
    }
    cv_.notify_all();
  }
  result.usage.completion_tokens = played;
  bool cancelled;
  {
    std::lock_guard lock(mu_);
    cancelled = run->cancelled || shutdown_;
  }
  if (!s.error.ok() && played == s.fail_after && !cancelled) {
    result.finish_reason = "error";
    result.error = s.error;
  } else if (played < static_cast<int>(s.pieces.size())) {
    result.finish_reason = "cancelled";
  } else {
    result.finish_reason = s.finish_reason;
  }
  {
    std::lock_guard lock(mu_);
    --active_;
    cv_.notify_all();
  }
  run->callbacks.on_done(std::move(result));
  // Drop the callbacks (they may own what submitted them) once they have run.
  run->callbacks = {};
}

int FakeBackend::FreeSlots() const {
  std::lock_guard lock(mu_);
  return shutdown_ ? 0 : std::max(0, slots_ - active_);
}

int FakeBackend::ActiveSequences() const {
  std::lock_guard lock(mu_);
  return active_;
}

void FakeBackend::Shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    cv_.notify_all();
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

bool FakeBackend::WaitForActive(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return active_ >= n; });
}

bool FakeBackend::WaitForPlayed(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pieces_played_ >= n; });
}

bool FakeBackend::WaitForSubmitted(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return static_cast<int>(submitted_ids_.size()) >= n; });
}

int FakeBackend::submitted() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(submitted_ids_.size());
}

int FakeBackend::max_active() const {
  std::lock_guard lock(mu_);
  return max_active_;
}

int FakeBackend::cancels() const {
  std::lock_guard lock(mu_);
  return cancels_;
}

std::vector<std::string> FakeBackend::submitted_ids() const {
  std::lock_guard lock(mu_);
  return submitted_ids_;
}

}  // namespace inferline::worker::testing
