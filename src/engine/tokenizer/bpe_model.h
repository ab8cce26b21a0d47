// The BPE model of tokenizer.json ("model": {"type": "BPE", ...}): vocabulary, ranked merges,
// unknown-token and byte-fallback handling.
//
// A word (one pre-tokenized piece) is split into characters, each looked up in the vocabulary
// (with continuing_subword_prefix / end_of_word_suffix when set); a missing character becomes
// its <0xNN> byte tokens when byte_fallback is on, else the unk token (consecutive ones fused
// when fuse_unk), else it is dropped, as HF does. Merges are applied lowest rank first
// (leftmost on ties) with a priority queue over a linked list of symbols: O(n log n) in the word
// length, which matters for SentencePiece-style models whose "word" is a whole segment.
// ignore_merges (Llama-3) emits a word that is itself in the vocabulary directly.
// Merges may be given as "a b" strings or ["a", "b"] pairs.
//
// Thread-safety: immutable after load except for the word cache, which is guarded by a
// shared_mutex; Encode may be called from any number of threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "common/status.h"

namespace inferline::engine {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class BpeModel {
 public:
  // Ids above this are refused: they would only be a corrupt or hostile file.
  static constexpr int32_t kMaxTokenId = (1 << 21) - 1;

  [[nodiscard]] static Result<std::unique_ptr<BpeModel>> FromJson(const boost::json::object& model);

  // Appends the ids of one pre-tokenized word.
  void Encode(std::string_view word, std::vector<int32_t>* out) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // nullptr for an id not in the vocabulary.
  const std::string* IdToToken(int32_t id) const;
  // One past the largest id.
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }

 private:
  BpeModel() = default;
  [[nodiscard]] Status LoadVocab(const boost::json::value& vocab);
  [[nodiscard]] Status LoadMerges(const boost::json::value& merges);
  void EncodeUncached(std::string_view word, std::vector<int32_t>* out) const;

  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> id_present_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string continuing_prefix_;
  std::string end_suffix_;
  std::array<int32_t, 256> byte_ids_{};  // <0xNN> token ids, -1 where absent

  static constexpr size_t kCacheCapacity = 20000;
  static constexpr size_t kMaxCachedWordBytes = 128;
  mutable std::shared_mutex cache_mu_;
  // Guarded by cache_mu_. Cleared wholesale when full: cheap and good enough for hot words.
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>>
      cache_;
};

}  // namespace inferline::engine
