#include "engine/tokenizer/bpe_model.h"

#include <mutex>
#include <queue>

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

constexpr std::string_view kWhat = "tokenizer.json: model";

}  // namespace

Status BpeModel::LoadVocab(const boost::json::value& vocab) {
  const auto* obj = vocab.if_object();
  if (obj == nullptr) return InvalidArgument(fmt::format("{}: 'vocab' must be an object", kWhat));
  int32_t max_id = -1;
  for (const auto& kv : *obj) {
    auto id = json::AsInt(kv.value());
    if (!id || *id < 0 || *id > kMaxTokenId) {
      return InvalidArgument(fmt::format("{}: vocab entry '{}' has an invalid id", kWhat,
                                         std::string_view(kv.key())));
    }
    vocab_[std::string(kv.key())] = static_cast<int32_t>(*id);
    max_id = std::max(max_id, static_cast<int32_t>(*id));
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  id_present_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : vocab_) {
    if (id_present_[id]) {
      return InvalidArgument(fmt::format("{}: id {} is used by both '{}' and '{}'", kWhat, id,
                                         id_to_token_[id], token));
    }
    id_to_token_[id] = token;
    id_present_[id] = true;
  }
  byte_ids_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (auto id = TokenToId(fmt::format("<0x{:02X}>", b))) byte_ids_[b] = *id;
  }
  return Status::Ok();
}

Status BpeModel::LoadMerges(const boost::json::value& merges) {
  const auto* arr = merges.if_array();
  if (arr == nullptr) return InvalidArgument(fmt::format("{}: 'merges' must be an array", kWhat));
  const size_t prefix_len = continuing_prefix_.size();
  int32_t rank = 0;
  for (const auto& m : *arr) {
    std::string a, b;
    if (const auto* s = m.if_string()) {
      const std::string_view line = *s;
      const size_t space = line.find(' ');
      if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
        return InvalidArgument(
            fmt::format("{}: merge {} ('{}') is not two tokens separated by one space", kWhat,
                        rank, line));
      }
      a = std::string(line.substr(0, space));
      b = std::string(line.substr(space + 1));
    } else if (const auto* pair = m.if_array();
               pair && pair->size() == 2 && (*pair)[0].is_string() && (*pair)[1].is_string()) {
      a = std::string((*pair)[0].get_string());
      b = std::string((*pair)[1].get_string());
    } else {
      return InvalidArgument(fmt::format("{}: merge {} is neither \"a b\" nor [a, b]", kWhat, rank));
    }
    const auto ia = TokenToId(a), ib = TokenToId(b);
    const std::string merged =
        a + (prefix_len > 0 && b.compare(0, prefix_len, continuing_prefix_) == 0
                 ? b.substr(prefix_len)
                 : b);
    const auto im = TokenToId(merged);
    if (!ia || !ib || !im) {
      return InvalidArgument(fmt::format("{}: merge {} ('{}' + '{}') uses a token not in the vocab",
                                         kWhat, rank, a, b));
    }
    merges_.insert_or_assign(PairKey(*ia, *ib), Merge{rank, *im});  // a later duplicate wins
    ++rank;
  }
  return Status::Ok();
}

Result<std::unique_ptr<BpeModel>> BpeModel::FromJson(const boost::json::object& model) {
  ASSIGN_OR_RETURN(auto type, json::GetString(model, "type", kWhat));
  if (type && *type != "BPE") {
    return Unimplemented(fmt::format("{}: type '{}' is not supported (only BPE)", kWhat, *type));
  }
  std::unique_ptr<BpeModel> m(new BpeModel());
  ASSIGN_OR_RETURN(auto byte_fallback, json::GetBool(model, "byte_fallback", kWhat));
  ASSIGN_OR_RETURN(auto fuse_unk, json::GetBool(model, "fuse_unk", kWhat));
  ASSIGN_OR_RETURN(auto ignore_merges, json::GetBool(model, "ignore_merges", kWhat));
  ASSIGN_OR_RETURN(auto prefix, json::GetString(model, "continuing_subword_prefix", kWhat));
  ASSIGN_OR_RETURN(auto suffix, json::GetString(model, "end_of_word_suffix", kWhat));
  ASSIGN_OR_RETURN(auto unk, json::GetString(model, "unk_token", kWhat));
  m->byte_fallback_ = byte_fallback.value_or(false);
  m->fuse_unk_ = fuse_unk.value_or(false);
  m->ignore_merges_ = ignore_merges.value_or(false);
  m->continuing_prefix_ = prefix.value_or("");
  m->end_suffix_ = suffix.value_or("");
  const auto* vocab = model.if_contains("vocab");
  if (vocab == nullptr) return InvalidArgument(fmt::format("{}: 'vocab' is missing", kWhat));
  RETURN_IF_ERROR(m->LoadVocab(*vocab));
  if (unk) {
    m->unk_id_ = m->TokenToId(*unk);
    if (!m->unk_id_) {
      return InvalidArgument(fmt::format("{}: unk_token '{}' is not in the vocab", kWhat, *unk));
    }
  }
  if (const auto* merges = model.if_contains("merges"); merges && !merges->is_null()) {
    RETURN_IF_ERROR(m->LoadMerges(*merges));
  }
  return m;
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !id_present_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::Encode(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto id = TokenToId(word)) {
      out->push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  EncodeUncached(word, &ids);
  out->insert(out->end(), ids.begin(), ids.end());
  if (cacheable) {
    std::unique_lock lock(cache_mu_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::EncodeUncached(std::string_view word, std::vector<int32_t>* out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // linked list over surviving symbols; -1 at the ends
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, n + 1, true});
  };
  bool pending_unk = false;
  std::string piece;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t start = pos;
    unicode::NextCodePoint(word, &pos);
    piece.assign(word.substr(start, pos - start));
    if (start > 0) piece.insert(0, continuing_prefix_);
    if (pos == word.size()) piece.append(end_suffix_);
    if (auto id = TokenToId(piece)) {
      if (pending_unk) add(*unk_id_);
      pending_unk = false;
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : piece) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        for (char c : piece) add(byte_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk && !fuse_unk_) add(*unk_id_);
      pending_unk = true;
    }
  }
  if (pending_unk) add(*unk_id_);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank, pos, new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    auto it = merges_.find(PairKey(symbols[left].id, symbols[right].id));
    if (it != merges_.end()) queue.push({it->second.rank, left, it->second.new_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Skip stale entries: the pair at this position changed since it was queued.
    auto it = merges_.find(PairKey(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out->push_back(symbols[i].id);
}

}  // namespace inferline::engine
