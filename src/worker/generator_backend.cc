#include "worker/generator_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "common/thread_name.h"
#include "engine/generator.h"
#include "worker/request_mapping.h"

namespace inferline::worker {

using SteadyClock = std::chrono::steady_clock;

struct GeneratorBackend::Job {
  GenerationInputs inputs;
  BackendCallbacks callbacks;
  std::atomic<bool> cancel{false};
  SteadyClock::time_point submitted = SteadyClock::now();
};

namespace {

class GeneratorHandle final : public BackendHandle {
 public:
  explicit GeneratorHandle(std::shared_ptr<GeneratorBackend::Job> job) : job_(std::move(job)) {}
  void Cancel() override;

 private:
  std::shared_ptr<GeneratorBackend::Job> job_;
};

BackendResult CancelledBeforeStart() {
  BackendResult r;
  r.finish_reason = "cancelled";
  return r;
}

}  // namespace

void GeneratorHandle::Cancel() { job_->cancel.store(true); }

GeneratorBackend::GeneratorBackend(std::shared_ptr<const engine::Model> model,
                                   std::shared_ptr<const engine::Tokenizer> tokenizer,
                                   GeneratorBackendOptions options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(std::move(options)) {
  options_.slots = std::max(1, options_.slots);
  for (int i = 0; i < options_.slots; ++i) threads_.emplace_back([this] {
    NameThisThread("worker-slot");
    RunSlot();
  });
}

GeneratorBackend::~GeneratorBackend() { Shutdown(); }

Result<std::unique_ptr<BackendHandle>> GeneratorBackend::Submit(
    const protocol::RequestMessage& request, BackendCallbacks callbacks) {
  ASSIGN_OR_RETURN(GenerationInputs inputs, ToGenerationInputs(request, *tokenizer_));
  auto job = std::make_shared<Job>();
  job->inputs = std::move(inputs);
  job->callbacks = std::move(callbacks);
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return Unavailable("the generator backend is shutting down");
    queue_.push_back(job);
  }
  cv_.notify_one();
  return std::unique_ptr<BackendHandle>(std::make_unique<GeneratorHandle>(std::move(job)));
}

int GeneratorBackend::FreeSlots() const {
  std::lock_guard lock(mu_);
  if (shutdown_) return 0;
  int busy = static_cast<int>(queue_.size() + running_.size());
  return std::max(0, options_.slots - busy);
}

int GeneratorBackend::ActiveSequences() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(running_.size());
}

void GeneratorBackend::Shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    for (auto& job : running_) job->cancel.store(true);
    for (auto& job : queue_) job->cancel.store(true);
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

void GeneratorBackend::RunSlot() {
  engine::Generator generator = options_.eos_ids.empty()
                                    ? engine::Generator(model_, tokenizer_)
                                    : engine::Generator(model_, tokenizer_, options_.eos_ids);
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return shutdown_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shut down and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(job);
    }
    RunJob(generator, *job);
    std::lock_guard lock(mu_);
    running_.erase(std::find(running_.begin(), running_.end(), job));
  }
}

void GeneratorBackend::RunJob(engine::Generator& generator, Job& job) {
  if (job.cancel.load()) {
    job.callbacks.on_done(CancelledBeforeStart());
    return;
  }
  engine::GenerateRequest req;
  req.prompt_ids = job.inputs.prompt_ids;
  req.sampling = job.inputs.sampling;
  req.max_tokens = job.inputs.max_tokens;
  req.stop = job.inputs.stop;
  int pieces = 0;
  double ttft = 0;
  auto on_text = [&](std::string_view piece) {
    if (pieces == 0) {
      ttft = std::chrono::duration<double>(SteadyClock::now() - job.submitted).count();
    }
    if (job.callbacks.on_token) job.callbacks.on_token(piece, pieces);
    ++pieces;
  };
  Result<engine::GenerateResult> got = generator.Generate(req, on_text, &job.cancel);
  BackendResult out;
  out.ttft_seconds = ttft;
  if (!got.ok()) {
    out.finish_reason = "error";
    out.error = got.status();
    job.callbacks.on_done(std::move(out));
    return;
  }
  out.output_text = std::move(got->text);
  out.finish_reason = got->finish_reason;
  // A request cancelled before its prefill consumed nothing.
  bool ran = !got->output_ids.empty();
  out.usage.prompt_tokens = ran ? got->prompt_tokens : 0;
  out.usage.completion_tokens = got->completion_tokens;
  job.callbacks.on_done(std::move(out));
}

}  // namespace inferline::worker
