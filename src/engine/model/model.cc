// Model loading and the validation of a forward step's inputs. The forward pass itself is in
// forward.cc.
#include "engine/model/model.h"

#include <fmt/format.h>

#include <set>

namespace inferline::engine {
namespace {

Status CheckConfig(const ModelConfig& c) {
  if (c.arch != "gpt2" && c.arch != "llama") {
    return Unimplemented(
        fmt::format("model architecture '{}' is not supported (supported: "
                    "gpt2, llama)",
                    c.arch));
  }
  if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 ||
      c.num_kv_heads <= 0 || c.head_dim <= 0 || c.intermediate_size <= 0 || c.max_positions <= 0) {
    return InvalidArgument("config.json: model dimensions must all be positive");
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    return InvalidArgument(
        fmt::format("config.json: num_attention_heads ({}) must be a multiple "
                    "of num_key_value_heads ({})",
                    c.num_heads, c.num_kv_heads));
  }
  if (c.arch == "gpt2" &&
      (c.num_kv_heads != c.num_heads || c.head_dim * c.num_heads != c.hidden_size)) {
    return InvalidArgument("config.json: GPT-2 needs n_embd divisible by n_head");
  }
  return Status::Ok();
}

}  // namespace

Model::Model(ModelConfig config, ModelWeights weights, std::optional<ops::RopeTable> rope,
             int num_threads)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      rope_(std::move(rope)),
      pool_(std::make_unique<ThreadPool>(num_threads)) {
  gelu_tanh_ = config_.activation != "gelu";
}

Result<std::unique_ptr<Model>> Model::Load(const std::filesystem::path& dir,
                                           const LoadOptions& options) {
  ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir));
  RETURN_IF_ERROR(CheckConfig(config));  // before mapping gigabytes of weights
  ASSIGN_OR_RETURN(auto file, WeightFile::OpenFolder(dir));
  return FromWeightFile(config, *file, options);
}

Result<std::unique_ptr<Model>> Model::FromWeightFile(const ModelConfig& config,
                                                     const WeightFile& file,
                                                     const LoadOptions& options) {
  RETURN_IF_ERROR(CheckConfig(config));
  std::optional<ops::RopeTable> rope;
  ModelWeights weights;
  if (config.arch == "gpt2") {
    static const std::set<std::string> kGeluVariants = {"gelu_new", "gelu_pytorch_tanh",
                                                        "gelu_fast", "gelu"};
    if (!kGeluVariants.contains(config.activation)) {
      return Unimplemented(
          fmt::format("GPT-2 activation_function '{}' is not supported", config.activation));
    }
    ASSIGN_OR_RETURN(weights, LoadGpt2Weights(file, config));
  } else {
    if (config.activation != "silu") {
      return Unimplemented(
          fmt::format("Llama hidden_act '{}' is not supported (only silu)", config.activation));
    }
    ops::RopeParams p;
    p.head_dim = config.head_dim;
    p.theta = config.rope_theta;
    p.scaling_type = config.rope_scaling.type;
    p.factor = config.rope_scaling.factor;
    p.low_freq_factor = config.rope_scaling.low_freq_factor;
    p.high_freq_factor = config.rope_scaling.high_freq_factor;
    p.original_max_positions = config.rope_scaling.original_max_position_embeddings;
    ASSIGN_OR_RETURN(ops::RopeTable table, ops::RopeTable::Create(p, config.max_positions));
    rope = std::move(table);
    ASSIGN_OR_RETURN(weights, LoadLlamaWeights(file, config));
  }
  RETURN_IF_ERROR(weights.ConvertMatrices(options.weight_dtype));
  auto model = std::unique_ptr<Model>(
      new Model(config, std::move(weights), std::move(rope), options.num_threads));
  model->weight_dtype_ = options.weight_dtype;
  return model;
}

Status Model::Validate(std::span<const SequenceStep> batch) const {
  const KvCacheShape shape{config_.num_layers, config_.num_kv_heads, config_.head_dim};
  for (size_t s = 0; s < batch.size(); ++s) {
    const SequenceStep& step = batch[s];
    const std::string where = fmt::format("batch entry {}", s);
    if (step.cache == nullptr) return InvalidArgument(where + ": no KV cache");
    if (!(step.cache->shape() == shape)) {
      return InvalidArgument(where + ": KV cache shape does not match the model");
    }
    for (size_t t = 0; t < s; ++t) {  // batches are small: quadratic beats a set here
      if (batch[t].cache == step.cache) {
        return InvalidArgument(where + ": the same KV cache appears twice in one batch");
      }
    }
    if (step.tokens.empty()) return InvalidArgument(where + ": no tokens");
    const int64_t n = static_cast<int64_t>(step.tokens.size());
    if (step.start_pos < 0 || step.start_pos > step.cache->length()) {
      return InvalidArgument(
          fmt::format("{}: start position {} is not within the {} cached "
                      "positions",
                      where, step.start_pos, step.cache->length()));
    }
    const int64_t end = step.start_pos + n;
    if (end > config_.max_positions) {
      return InvalidArgument(
          fmt::format("{}: positions up to {} exceed the model's context of "
                      "{} tokens",
                      where, end, config_.max_positions));
    }
    if (end > step.cache->capacity()) {
      return InvalidArgument(
          fmt::format("{}: positions up to {} exceed the KV cache capacity "
                      "of {}",
                      where, end, step.cache->capacity()));
    }
    for (int32_t id : step.tokens) {
      if (id < 0 || id >= config_.vocab_size) {
        return InvalidArgument(fmt::format("{}: token id {} is outside the vocabulary [0, {})",
                                           where, id, config_.vocab_size));
      }
    }
    const int64_t rows = step.logits_mode == LogitsMode::kAll    ? n
                         : step.logits_mode == LogitsMode::kLast ? 1
                                                                 : 0;
    if (static_cast<int64_t>(step.logits.size()) != rows * config_.vocab_size) {
      return InvalidArgument(fmt::format("{}: logits span holds {} floats, expected {}", where,
                                         step.logits.size(), rows * config_.vocab_size));
    }
  }
  return Status::Ok();
}

}  // namespace inferline::engine
