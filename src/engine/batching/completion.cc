#include "engine/batching/completion.h"

#include <algorithm>

namespace inferline::engine {

Completion::Completion(const Tokenizer& tokenizer, std::vector<std::string> stops,
                       std::vector<int32_t> eos_ids, int max_tokens, bool ignore_eos)
    : decoder_(tokenizer),
      filter_(std::move(stops)),
      eos_ids_(std::move(eos_ids)),
      max_tokens_(max_tokens),
      ignore_eos_(ignore_eos) {}

bool Completion::IsEos(int32_t id) const {
  return !ignore_eos_ && std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end();
}

void Completion::Close() {
  if (!filter_.stopped() && filter_.Add(decoder_.Flush())) finish_reason_ = "stop";
  filter_.Finish();
}

Completion::Update Completion::Add(int32_t id) {
  output_ids_.push_back(id);
  if (IsEos(id)) {
    finish_reason_ = "stop";
  } else if (filter_.Add(decoder_.Push(id))) {
    finish_reason_ = "stop";
  } else if (static_cast<int>(output_ids_.size()) >= max_tokens_) {
    finish_reason_ = "length";
  }
  Update u;
  if (!finish_reason_.empty()) {
    // The decoder's tail may itself complete a stop string, which turns "length" into "stop"
    // exactly as in the Generator.
    Close();
    u.finished = true;
  }
  u.text = filter_.TakeReady();
  return u;
}

std::string Completion::Abort(std::string reason) {
  if (finished()) return {};
  Close();
  finish_reason_ = std::move(reason);  // even if the flushed tail completed a stop string
  return filter_.TakeReady();
}

}  // namespace inferline::engine
