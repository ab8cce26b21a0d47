// WeightFile: opening single and sharded safetensors checkpoints, and tensor lookup.
#include <set>

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/io/safetensors.h"

namespace inferline::engine {
namespace {

constexpr char kSingleFile[] = "model.safetensors";
constexpr char kIndexFile[] = "model.safetensors.index.json";

// Shard names come from a user-supplied index: keep them inside the model folder.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace

Status WeightFile::AddSource(std::unique_ptr<ByteSource> source, std::string what) {
  std::map<std::string, std::string> metadata;
  ASSIGN_OR_RETURN(auto entries, ParseSafetensors(source->bytes(), what, &metadata));
  if (sources_.empty()) metadata_ = std::move(metadata);
  for (auto& e : entries) {
    auto it = tensors_.find(e.view.name);
    if (it != tensors_.end()) {
      return DataLoss(fmt::format("tensor '{}' appears in both {} and {}", e.view.name,
                                  it->second.file, what));
    }
    std::string name = e.view.name;
    tensors_.emplace(std::move(name), std::move(e));
  }
  sources_.push_back(std::move(source));
  return Status::Ok();
}

Result<std::unique_ptr<WeightFile>> WeightFile::FromBuffer(std::span<const std::byte> bytes) {
  std::unique_ptr<WeightFile> wf(new WeightFile());
  RETURN_IF_ERROR(wf->AddSource(CopyBytes(bytes), "<buffer>"));
  return wf;
}

Result<std::unique_ptr<WeightFile>> WeightFile::OpenFile(const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(auto source, MapFile(file));
  std::unique_ptr<WeightFile> wf(new WeightFile());
  RETURN_IF_ERROR(wf->AddSource(std::move(source), file.string()));
  return wf;
}

Result<std::unique_ptr<WeightFile>> WeightFile::OpenFolder(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir / kSingleFile, ec)) return OpenFile(dir / kSingleFile);
  if (std::filesystem::exists(dir / kIndexFile, ec)) return OpenSharded(dir / kIndexFile);
  return NotFound(fmt::format("{} has neither {} nor {}", dir.string(), kSingleFile, kIndexFile));
}

Result<std::unique_ptr<WeightFile>> WeightFile::OpenSharded(
    const std::filesystem::path& index_path) {
  const std::string what = index_path.string();
  ASSIGN_OR_RETURN(std::string text, ReadTextFile(index_path));
  auto parsed = json::Parse(text, what);
  if (!parsed.ok()) return DataLoss(parsed.status().message());
  const auto* root = parsed->if_object();
  const auto* map_v = root ? root->if_contains("weight_map") : nullptr;
  if (map_v == nullptr || !map_v->is_object()) {
    return DataLoss(fmt::format("{}: 'weight_map' missing or not an object", what));
  }
  // tensor -> shard, and the shards in first-mention order (so errors are deterministic).
  std::map<std::string, std::string> wanted;
  std::vector<std::string> shards;
  std::set<std::string> shard_set;
  for (const auto& kv : map_v->get_object()) {
    const auto* shard = kv.value().if_string();
    if (shard == nullptr || !IsPlainFileName(*shard)) {
      return DataLoss(fmt::format("{}: tensor '{}' maps to an invalid shard file name", what,
                                  std::string_view(kv.key())));
    }
    wanted[std::string(kv.key())] = std::string(*shard);
    if (shard_set.insert(std::string(*shard)).second) shards.emplace_back(*shard);
  }
  std::unique_ptr<WeightFile> wf(new WeightFile());
  const auto dir = index_path.parent_path();
  for (const auto& shard : shards) {
    auto source = MapFile(dir / shard);
    if (!source.ok()) {
      std::string first_tensor;
      for (const auto& [t, s] : wanted) {
        if (s == shard) {
          first_tensor = t;
          break;
        }
      }
      return DataLoss(fmt::format("{}: shard {} (holding tensor '{}') cannot be opened: {}", what,
                                  shard, first_tensor, source.status().message()));
    }
    RETURN_IF_ERROR(wf->AddSource(std::move(source).value(), (dir / shard).string()));
  }
  for (const auto& [tensor, shard] : wanted) {
    if (!wf->Has(tensor)) {
      return DataLoss(fmt::format("{}: tensor '{}' is not in its shard {}", what, tensor, shard));
    }
  }
  return wf;
}

bool WeightFile::Has(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

Result<TensorView> WeightFile::Get(std::string_view name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return NotFound(fmt::format("tensor '{}' not found", name));
  if (!it->second.unsupported_dtype.empty()) {
    return Unimplemented(fmt::format("tensor '{}' has dtype {}, which the engine does not support",
                                     name, it->second.unsupported_dtype));
  }
  return it->second.view;
}

Result<TensorView> WeightFile::Get(std::string_view name, std::span<const int64_t> shape) const {
  ASSIGN_OR_RETURN(TensorView view, Get(name));
  if (!std::equal(view.shape.begin(), view.shape.end(), shape.begin(), shape.end())) {
    return InvalidArgument(fmt::format("tensor '{}' has shape {}, expected {}", name,
                                       ShapeToString(view.shape), ShapeToString(shape)));
  }
  return view;
}

std::vector<std::string> WeightFile::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& kv : tensors_) names.push_back(kv.first);
  return names;
}

}  // namespace inferline::engine
