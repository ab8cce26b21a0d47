// Which files of a Hub revision make an inferline model folder.
//
// Always config.json, tokenizer.json and the weights; generation_config.json,
// tokenizer_config.json and special_tokens_map.json when the repository has them. Weights are
// model.safetensors, or model.safetensors.index.json plus the shards its weight_map names
// (ShardsFromIndex, once the index is on disk). PyTorch .bin/.pt, ONNX, GGUF, TF and Flax files
// are left out unless an --include pattern (fnmatch, '*' also matching '/', as the Hub's own
// allow_patterns do) names them.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "hub/hub_client.h"

namespace inferline::hub {

inline constexpr std::string_view kWeightsFile = "model.safetensors";
inline constexpr std::string_view kWeightsIndexFile = "model.safetensors.index.json";

struct Selection {
  std::vector<RepoFile> files;  // small files first, weights last, then the included extras
  std::vector<std::string> unmatched_patterns;  // --include patterns that matched nothing
  bool sharded = false;  // the index is selected; its shards are still to be added
};

// Errors (FailedPrecondition) name what the revision lacks and what it has instead.
[[nodiscard]] Result<Selection> SelectFiles(const RevisionInfo& info, std::string_view repo,
                                            const std::vector<std::string>& include);

// The distinct shard file names of a model.safetensors.index.json, in first-seen order; each
// must be a safe relative path ending in ".safetensors".
[[nodiscard]] Result<std::vector<std::string>> ShardsFromIndex(std::string_view index_json);

bool MatchesPattern(std::string_view pattern, std::string_view path);

}  // namespace inferline::hub
