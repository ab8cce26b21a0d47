// ModelCatalog: the models this gateway accepts requests for, with what admission needs to know
// about each: its tokenizer (prompt tokens are counted exactly, with the model's own tokenizer)
// and its context length.
//
// Thread-safety: built at start-up, then only read (any thread). Tokenizers are immutable and
// shared with the workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace inferline::gateway {

struct ServedModel {
  std::string name;
  std::shared_ptr<const engine::Tokenizer> tokenizer;
  int64_t context_length = 0;  // prompt + completion tokens at most
  int64_t created = 0;         // unix seconds, for GET /v1/models
  std::string owned_by = "inferline";
};

class ModelCatalog {
 public:
  void Add(ServedModel model) { models_.push_back(std::move(model)); }

  const ServedModel* Find(std::string_view name) const {
    for (const auto& m : models_) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }
  // The model /api/gateway uses when its body names none: the first one added.
  const ServedModel* Default() const { return models_.empty() ? nullptr : &models_.front(); }
  const std::vector<ServedModel>& models() const { return models_; }

 private:
  std::vector<ServedModel> models_;
};

}  // namespace inferline::gateway
