#include "hub/file_selection.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>

#include <algorithm>

namespace inferline::hub {

namespace json = boost::json;

namespace {

constexpr std::string_view kRequired[] = {"config.json", "tokenizer.json"};
constexpr std::string_view kOptional[] = {"generation_config.json", "tokenizer_config.json",
                                          "special_tokens_map.json"};

// The weight formats a repository may carry instead, for the error message.
std::string OtherWeights(const RevisionInfo& info) {
  std::vector<std::string> found;
  for (const RepoFile& f : info.files) {
    for (std::string_view ext : {".bin", ".pt", ".pth", ".onnx", ".gguf", ".h5", ".msgpack",
                                 ".safetensors"}) {
      if (f.path.ends_with(ext) && found.size() < 5) found.push_back(f.path);
    }
  }
  if (found.empty()) return "it has no weight files at all";
  return fmt::format("it has {}", fmt::join(found, ", "));
}

void AddOnce(std::vector<RepoFile>& files, const RepoFile& f) {
  for (const RepoFile& g : files) {
    if (g.path == f.path) return;
  }
  files.push_back(f);
}

}  // namespace

bool MatchesPattern(std::string_view pattern, std::string_view path) {
  return fnmatch(std::string(pattern).c_str(), std::string(path).c_str(), 0) == 0;
}

Result<Selection> SelectFiles(const RevisionInfo& info, std::string_view repo,
                              const std::vector<std::string>& include) {
  Selection sel;
  for (std::string_view name : kRequired) {
    const RepoFile* f = info.Find(name);
    if (f == nullptr) {
      return FailedPrecondition(fmt::format(
          "'{}' has no {}: inferline needs a Hugging Face transformers folder with {}", repo,
          name,
          name == "tokenizer.json" ? "the fast tokenizer file tokenizer.json"
                                   : "config.json, tokenizer.json and .safetensors weights"));
    }
    AddOnce(sel.files, *f);
  }
  for (std::string_view name : kOptional) {
    if (const RepoFile* f = info.Find(name)) AddOnce(sel.files, *f);
  }
  if (const RepoFile* w = info.Find(kWeightsFile)) {
    AddOnce(sel.files, *w);
  } else if (const RepoFile* index = info.Find(kWeightsIndexFile)) {
    AddOnce(sel.files, *index);
    sel.sharded = true;
  } else {
    return FailedPrecondition(fmt::format(
        "'{}' has no safetensors weights ({} or {}): {}; inferline loads .safetensors only", repo,
        kWeightsFile, kWeightsIndexFile, OtherWeights(info)));
  }
  for (const std::string& pattern : include) {
    bool matched = false;
    for (const RepoFile& f : info.files) {
      if (MatchesPattern(pattern, f.path)) {
        AddOnce(sel.files, f);
        matched = true;
      }
    }
    if (!matched) sel.unmatched_patterns.push_back(pattern);
  }
  return sel;
}

Result<std::vector<std::string>> ShardsFromIndex(std::string_view index_json) {
  boost::system::error_code ec;
  json::value root = json::parse(index_json, ec);
  if (ec || !root.is_object()) return DataLoss(fmt::format("{} is not JSON", kWeightsIndexFile));
  const json::value* map = root.as_object().if_contains("weight_map");
  if (map == nullptr || !map->is_object() || map->as_object().empty()) {
    return DataLoss(fmt::format("{} has no \"weight_map\" object", kWeightsIndexFile));
  }
  std::vector<std::string> shards;
  for (const auto& [tensor, file] : map->as_object()) {
    if (!file.is_string()) {
      return DataLoss(fmt::format("{}: the shard of \"{}\" is not a string", kWeightsIndexFile,
                                  std::string_view(tensor)));
    }
    std::string name(file.as_string());
    if (!IsSafeRelativePath(name) || !name.ends_with(".safetensors")) {
      return DataLoss(fmt::format("{}: \"{}\" is not a .safetensors file in the folder",
                                  kWeightsIndexFile, name));
    }
    if (std::find(shards.begin(), shards.end(), name) == shards.end()) shards.push_back(name);
  }
  return shards;
}

}  // namespace inferline::hub
