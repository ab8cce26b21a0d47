// Text <-> token ids with a Hugging Face tokenizer.json, plus chat templates.
//
// Supports the BPE tokenizers of GPT-2, Llama-3, Qwen2 and SmolLM (byte-level BPE) and of
// Llama-2 / TinyLlama (SentencePiece-style BPE with byte fallback). Encoding follows HF
// `tokenizers`: added tokens are matched in the raw text first, every other segment is
// normalized and pre-tokenized on its own, each piece is BPE-encoded, and with
// add_special_tokens the post-processor's template (or tokenizer_config.json's add_bos_token /
// add_eos_token) adds BOS/EOS. Unsupported components fail at load with an error naming them.
// Known differences from HF: added tokens marked "normalized" are matched before normalization
// like the others, and Decode replaces each maximal ill-formed UTF-8 subsequence produced by
// byte-level tokens with one U+FFFD (as HF's ByteLevel decoder does via from_utf8_lossy).
//
// Thread-safety: a loaded Tokenizer is immutable (its internal BPE cache is locked) and may be
// shared by any number of threads. A StreamDecoder belongs to one sequence and one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::engine {

class AddedVocabulary;
class BpeModel;
class Decoder;
class Normalizer;
class PreTokenizer;

class Tokenizer {
 public:
  // dir holds tokenizer.json and optionally tokenizer_config.json (special tokens,
  // add_bos_token, chat_template, model_max_length).
  [[nodiscard]] static Result<std::unique_ptr<Tokenizer>> Load(const std::filesystem::path& dir);
  [[nodiscard]] static Result<std::unique_ptr<Tokenizer>> FromJson(
      std::string_view tokenizer_json, std::string_view tokenizer_config_json = {});
  ~Tokenizer();

  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = false) const;
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = true) const;
  // Decode before the final UTF-8 repair: may end in (or contain) partial characters.
  // `streaming` keeps byte-fallback runs as raw bytes (see decoder.h).
  std::string DecodeBytes(std::span<const int32_t> ids, bool skip_special_tokens,
                          bool streaming) const;

  std::string TokenToPiece(int32_t id) const;  // raw vocabulary string, "" if unknown
  int32_t vocab_size() const { return vocab_size_; }
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::optional<int32_t> TokenId(std::string_view piece) const;
  bool IsSpecial(int32_t id) const;
  // tokenizer_config.json's model_max_length when it is a sensible number.
  std::optional<int64_t> model_max_length() const { return model_max_length_; }
  const std::string& chat_template() const { return chat_template_; }

  struct ChatMessage {
    std::string role, content;
  };
  // Renders tokenizer_config.json's chat_template (a Jinja subset, see chat_template.h); with no
  // template, ChatML: "<|im_start|>{role}\n{content}<|im_end|>\n" per message and
  // "<|im_start|>assistant\n" for the generation prompt.
  [[nodiscard]] Result<std::string> ApplyChatTemplate(std::span<const ChatMessage> messages,
                                                      bool add_generation_prompt) const;

 private:
  Tokenizer();
  [[nodiscard]] Status LoadTokenizerJson(std::string_view text);
  [[nodiscard]] Status LoadConfig(std::string_view text);
  void ChooseSpecialTokens();
  void EncodeSegment(std::string_view text, bool at_start, std::vector<int32_t>* out) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<AddedVocabulary> added_;
  // What add_special_tokens puts around the text.
  std::vector<int32_t> prefix_ids_, suffix_ids_;
  bool has_template_post_processor_ = false;
  std::optional<int32_t> bos_id_, eos_id_;
  std::string bos_token_, eos_token_;
  std::string chat_template_;
  std::optional<int64_t> model_max_length_;
  int32_t vocab_size_ = 0;
};

// Streaming-safe detokenization for one generated sequence: Push returns the text completed by
// each new token, holding back an unfinished UTF-8 character until its last byte arrives, so
// the concatenation of every Push and the final Flush equals Decode of all the ids.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special_tokens = true);
  std::string Push(int32_t id);
  std::string Flush();  // whatever is left (ill-formed bytes as U+FFFD)

 private:
  // Whether `id` has text in some context: a known token, not a skipped special one.
  bool HasText(int32_t id) const;

  const Tokenizer& tok_;
  bool skip_special_;
  // Ids still needed as context: decoders such as Strip and Metaspace treat the first token
  // specially, so the window always starts at a token whose text was already emitted.
  std::vector<int32_t> window_;
  size_t emitted_ = 0;  // bytes of DecodeBytes(window_) already returned
};

}  // namespace inferline::engine
