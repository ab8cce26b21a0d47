#include "hub/model_check.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "engine/io/model_config.h"
#include "engine/io/safetensors.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::hub {

namespace fs = std::filesystem;

namespace {

// config.json's "architectures"[0]; "" when absent (it is informational only).
std::string ClassName(const fs::path& dir) {
  std::ifstream in(dir / "config.json");
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(ss.str(), ec);
  if (ec || !v.is_object()) return "";
  const boost::json::value* a = v.as_object().if_contains("architectures");
  if (a == nullptr || !a->is_array() || a->as_array().empty() || !a->as_array()[0].is_string()) {
    return "";
  }
  return std::string(a->as_array()[0].as_string());
}

}  // namespace

std::string FormatParameters(uint64_t n) {
  if (n < 1000) return std::to_string(n);
  static constexpr const char* kUnits[] = {"K", "M", "B", "T"};
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 1000.0 && unit < 3) {
    v /= 1000.0;
    ++unit;
  }
  int precision = v < 10 ? 2 : (v < 100 ? 1 : 0);
  return fmt::format("{:.{}f}{}", v, precision, kUnits[unit]);
}

Result<ModelSummary> CheckModelFolder(const fs::path& dir) {
  ModelSummary s;
  Result<engine::ModelConfig> config = engine::LoadModelConfig(dir);
  if (!config.ok()) return config.status().Annotate("config.json does not load");
  s.arch = config->arch;
  s.class_name = ClassName(dir);
  s.layers = config->num_layers;
  s.hidden_size = config->hidden_size;
  s.context = config->max_positions;
  s.vocab_size = config->vocab_size;

  Result<std::unique_ptr<engine::WeightFile>> weights = engine::WeightFile::OpenFolder(dir);
  if (!weights.ok()) return weights.status().Annotate("the weights do not load");
  std::map<std::string, uint64_t> bytes_by_dtype;
  std::vector<std::string> unsupported;
  for (const std::string& name : (*weights)->Names()) {
    ++s.tensors;
    Result<engine::TensorView> t = (*weights)->Get(name);
    if (!t.ok()) {
      if (unsupported.size() < 3) unsupported.push_back(name);
      continue;
    }
    s.parameters += static_cast<uint64_t>(t->numel());
    s.weight_bytes += t->nbytes;
    bytes_by_dtype[std::string(engine::DTypeName(t->dtype))] += t->nbytes;
  }
  if (s.parameters == 0) return FailedPrecondition("the weights hold no tensor the engine can use");
  for (const auto& [dtype, bytes] : bytes_by_dtype) {
    s.dtype += (s.dtype.empty() ? "" : " + ") + dtype;
  }
  if (!unsupported.empty()) {
    s.warnings.push_back(fmt::format("some tensors have a dtype the engine cannot use (e.g. {})",
                                     fmt::join(unsupported, ", ")));
  }

  Result<std::unique_ptr<engine::Tokenizer>> tok = engine::Tokenizer::Load(dir);
  if (!tok.ok()) return tok.status().Annotate("the tokenizer does not load");
  s.tokenizer_vocab = (*tok)->vocab_size();
  s.chat_template = !(*tok)->chat_template().empty();
  if (s.tokenizer_vocab > s.vocab_size) {
    s.warnings.push_back(fmt::format(
        "the tokenizer has {} tokens but the model only {}: ids past {} cannot be used",
        s.tokenizer_vocab, s.vocab_size, s.vocab_size - 1));
  }
  return s;
}

}  // namespace inferline::hub
