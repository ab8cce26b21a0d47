// The output side of one generated sequence: the per-token rules that decide what text is final
// and when the sequence ends — EOS, stop strings (with hold-back of a possible prefix),
// max_tokens — on top of streaming detokenization. Shared by every sequence of the batching
// Engine; it is the same contract as the single-sequence Generator's loop (see generator.h):
// output_ids holds every sampled token, EOS or stop-completing one included; the EOS token's
// text is never part of text(); text() is cut just before the first stop string.
//
// Thread-safety: none; one Completion belongs to one sequence on one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/generator.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {

class Completion {
 public:
  // `tokenizer` must outlive the Completion. max_tokens >= 1.
  Completion(const Tokenizer& tokenizer, std::vector<std::string> stops,
             std::vector<int32_t> eos_ids, int max_tokens, bool ignore_eos);

  struct Update {
    std::string text;       // output text that became final with this token (may be empty)
    bool finished = false;  // finish_reason() says why
  };

  // Records one sampled token. Must not be called once finished().
  Update Add(int32_t id);

  // Ends the sequence early with `reason` (e.g. "cancelled"): text() then also holds the tail
  // that was held back; the returned string is that tail.
  std::string Abort(std::string reason);

  bool finished() const { return !finish_reason_.empty(); }
  const std::string& finish_reason() const { return finish_reason_; }
  const std::vector<int32_t>& output_ids() const { return output_ids_; }
  const std::string& text() const { return filter_.text(); }

 private:
  bool IsEos(int32_t id) const;
  // Flushes the decoder's tail into the filter and releases everything held back.
  void Close();

  StreamDecoder decoder_;
  StopStringFilter filter_;
  std::vector<int32_t> eos_ids_;
  int max_tokens_;
  bool ignore_eos_;
  std::vector<int32_t> output_ids_;
  std::string finish_reason_;  // empty while running
};

}  // namespace inferline::engine
