// Tokenizer: encoding, decoding and lookups. Loading lives in tokenizer_load.cc.
#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {

Tokenizer::Tokenizer() : added_(std::make_unique<AddedVocabulary>()) {}
Tokenizer::~Tokenizer() = default;

void Tokenizer::EncodeSegment(std::string_view text, bool at_start,
                              std::vector<int32_t>* out) const {
  std::string normalized(text);
  if (normalizer_) normalizer_->Apply(&normalized);
  if (normalized.empty()) return;
  std::vector<Piece> pieces{{std::move(normalized), at_start}};
  if (pre_tokenizer_) pre_tokenizer_->Split(&pieces);
  for (const auto& p : pieces) model_->Encode(p.text, out);
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + prefix_ids_.size() + suffix_ids_.size() + 1);
  if (add_special_tokens) ids.assign(prefix_ids_.begin(), prefix_ids_.end());
  for (const auto& seg : added_->Split(text)) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
    } else {
      EncodeSegment(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, &ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string Tokenizer::DecodeBytes(std::span<const int32_t> ids, bool skip_special_tokens,
                                   bool streaming) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* t = added_->ById(id)) {
      if (!(skip_special_tokens && t->special)) tokens.push_back(t->content);
    } else if (const std::string* piece = model_->IdToToken(id)) {
      tokens.push_back(*piece);
    }  // unknown ids are skipped, as HF does
  }
  if (decoder_) {
    decoder_->Apply(&tokens, streaming);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }
  std::string out;  // no decoder: HF joins the tokens with spaces
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += ' ';
    out += tokens[i];
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return unicode::ToValidUtf8(DecodeBytes(ids, skip_special_tokens, /*streaming=*/false));
}

std::string Tokenizer::TokenToPiece(int32_t id) const {
  if (const AddedToken* t = added_->ById(id)) return t->content;
  if (const std::string* piece = model_->IdToToken(id)) return *piece;
  return {};
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view piece) const {
  if (auto id = added_->IdOf(piece)) return id;
  return model_->TokenToId(piece);
}

bool Tokenizer::IsSpecial(int32_t id) const { return added_->IsSpecial(id); }

Result<std::string> Tokenizer::ApplyChatTemplate(std::span<const ChatMessage> messages,
                                                 bool add_generation_prompt) const {
  std::vector<ChatTurn> turns;
  turns.reserve(messages.size());
  for (const auto& m : messages) turns.push_back({m.role, m.content});
  if (chat_template_.empty()) return RenderChatMl(turns, add_generation_prompt);
  return RenderChatTemplate(chat_template_, turns, bos_token_, eos_token_, add_generation_prompt);
}

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool skip_special_tokens)
    : tok_(tok), skip_special_(skip_special_tokens) {}

std::string StreamDecoder::Push(int32_t id) {
  window_.push_back(id);
  const std::string bytes = tok_.DecodeBytes(window_, skip_special_, /*streaming=*/true);
  if (bytes.size() < emitted_) {
    // The decoder rewrote text already emitted (not possible with the supported decoders);
    // emit nothing now and resynchronise on the new window.
    emitted_ = bytes.size();
    return {};
  }
  const size_t ready = bytes.size() - unicode::IncompleteUtf8Tail(bytes);
  std::string out;
  if (ready > emitted_) {
    out = unicode::ToValidUtf8(std::string_view(bytes).substr(emitted_, ready - emitted_));
    emitted_ = ready;
  }
  // Everything is out: restart the window at this token, which keeps the context that
  // first-token rules need while bounding the work per step. A token that never has text (a
  // skipped special token, an unknown id) is no use as context, so the window keeps growing
  // then, up to a bound: past it, the window restarts at its last token that has text, the
  // context the next one needs (Strip, for one, removes a leading space only at the start). A
  // token can have text and still decode to nothing alone: "▁" under Strip is a space that the
  // first-token rule removes; it stays context all the same.
  if (emitted_ == bytes.size() && window_.size() > 1) {
    const std::string alone = tok_.DecodeBytes(std::span(&id, 1), skip_special_, true);
    if (!alone.empty() || HasText(id)) {
      window_.assign(1, id);
      emitted_ = alone.size();
    } else if (window_.size() > 64) {
      int32_t anchor = id;  // no text yet: one empty token in front, see below
      for (size_t i = window_.size(); i-- > 0;) {
        if (HasText(window_[i])) {
          anchor = window_[i];
          break;
        }
      }
      // With no text yet, one empty token stays in front, since decoders that look at pieces
      // (not at the fused text) still count it as the first token, as Decode does.
      window_.assign(1, anchor);
      emitted_ = tok_.DecodeBytes(std::span(&anchor, 1), skip_special_, true).size();
    }
  }
  return out;
}

bool StreamDecoder::HasText(int32_t id) const {
  if (id < 0) return false;
  if (skip_special_ && tok_.IsSpecial(id)) return false;
  return !tok_.TokenToPiece(id).empty();
}

std::string StreamDecoder::Flush() {
  const std::string bytes = tok_.DecodeBytes(window_, skip_special_, /*streaming=*/true);
  std::string out;
  if (bytes.size() > emitted_) out = unicode::ToValidUtf8(std::string_view(bytes).substr(emitted_));
  window_.clear();
  emitted_ = 0;
  return out;
}

}  // namespace inferline::engine
