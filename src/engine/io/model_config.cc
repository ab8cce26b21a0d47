#include "engine/io/model_config.h"

#include <climits>
#include <cmath>

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/io/mapped_file.h"

namespace inferline::engine {
namespace {

// Typed reads from one JSON object; every error names the file and the key.
class Reader {
 public:
  Reader(const boost::json::object& obj, std::string_view what) : obj_(obj), what_(what) {}

  bool Has(std::string_view key) const {
    const auto* v = obj_.if_contains(key);
    return v != nullptr && !v->is_null();
  }

  // A positive int (or >= min_value); `fallback` when absent, an error when absent without one.
  Result<int> Int(std::string_view key, std::optional<int> fallback = std::nullopt,
                  int min_value = 1) const {
    ASSIGN_OR_RETURN(auto v, json::GetInt(obj_, key, what_));
    if (!v) {
      if (fallback) return *fallback;
      return InvalidArgument(fmt::format("{}: required key '{}' is missing", what_, key), key_(key));
    }
    if (*v < min_value || *v > INT_MAX) {
      return InvalidArgument(
          fmt::format("{}: '{}' is {}, must be between {} and {}", what_, key, *v, min_value,
                      INT_MAX),
          key_(key));
    }
    return static_cast<int>(*v);
  }

  Result<std::optional<float>> OptFloat(std::string_view key) const {
    ASSIGN_OR_RETURN(auto v, json::GetDouble(obj_, key, what_));
    if (!v) return std::optional<float>();
    if (!std::isfinite(*v)) {
      return InvalidArgument(fmt::format("{}: '{}' must be finite", what_, key), key_(key));
    }
    return std::optional<float>(static_cast<float>(*v));
  }

  Result<float> PositiveFloat(std::string_view key, float fallback) const {
    ASSIGN_OR_RETURN(auto v, OptFloat(key));
    if (!v) return fallback;
    if (*v <= 0) {
      return InvalidArgument(fmt::format("{}: '{}' must be positive, got {}", what_, key, *v),
                             key_(key));
    }
    return *v;
  }

  Result<std::optional<int>> OptInt(std::string_view key, int min_value = 0) const {
    if (!Has(key)) return std::optional<int>();
    ASSIGN_OR_RETURN(int v, Int(key, std::nullopt, min_value));
    return std::optional<int>(v);
  }

  Result<bool> Bool(std::string_view key, bool fallback) const {
    ASSIGN_OR_RETURN(auto v, json::GetBool(obj_, key, what_));
    return v.value_or(fallback);
  }

  Result<std::string> String(std::string_view key, std::string fallback) const {
    ASSIGN_OR_RETURN(auto v, json::GetString(obj_, key, what_));
    return v ? *v : fallback;
  }

  // An int or a list of ints (eos_token_id); empty when absent.
  Result<std::vector<int>> IntList(std::string_view key) const {
    std::vector<int> out;
    const auto* v = obj_.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    auto push = [&](const boost::json::value& x) -> Status {
      auto i = json::AsInt(x);
      if (!i || *i < 0 || *i > INT_MAX) {
        return InvalidArgument(
            fmt::format("{}: '{}' must be a token id or a list of token ids", what_, key),
            key_(key));
      }
      out.push_back(static_cast<int>(*i));
      return Status::Ok();
    };
    if (const auto* arr = v->if_array()) {
      for (const auto& x : *arr) RETURN_IF_ERROR(push(x));
    } else {
      RETURN_IF_ERROR(push(*v));
    }
    return out;
  }

  const boost::json::object& obj() const { return obj_; }
  std::string_view what() const { return what_; }

 private:
  static std::string key_(std::string_view key) { return std::string(key); }
  const boost::json::object& obj_;
  std::string_view what_;
};

Result<std::string> DetectArch(const Reader& r) {
  ASSIGN_OR_RETURN(std::string model_type, r.String("model_type", ""));
  std::string architecture;
  if (const auto* a = r.obj().if_contains("architectures")) {
    if (const auto* arr = a->if_array(); arr && !arr->empty() && (*arr)[0].is_string()) {
      architecture = std::string((*arr)[0].get_string());
    }
  }
  if (model_type == "gpt2" || architecture.rfind("GPT2", 0) == 0) return std::string("gpt2");
  if (model_type == "llama" || architecture.rfind("Llama", 0) == 0) return std::string("llama");
  return Unimplemented(fmt::format(
      "{}: unsupported model (model_type '{}', architectures '{}'); supported: gpt2, llama",
      r.what(), model_type, architecture));
}

Status LoadGpt2(const Reader& r, ModelConfig* c) {
  ASSIGN_OR_RETURN(c->hidden_size, r.Int("n_embd"));
  ASSIGN_OR_RETURN(c->num_layers, r.Int("n_layer"));
  ASSIGN_OR_RETURN(c->num_heads, r.Int("n_head"));
  ASSIGN_OR_RETURN(auto n_ctx, r.OptInt("n_ctx", 1));
  ASSIGN_OR_RETURN(c->max_positions, r.Int("n_positions", n_ctx));
  if (c->hidden_size % c->num_heads != 0) {
    return InvalidArgument(fmt::format("{}: 'n_embd' ({}) is not divisible by 'n_head' ({})",
                                       r.what(), c->hidden_size, c->num_heads),
                           "n_embd");
  }
  c->num_kv_heads = c->num_heads;
  c->head_dim = c->hidden_size / c->num_heads;
  if (c->hidden_size > INT_MAX / 4) return InvalidArgument("n_embd is too large", "n_embd");
  ASSIGN_OR_RETURN(c->intermediate_size, r.Int("n_inner", 4 * c->hidden_size));
  ASSIGN_OR_RETURN(c->norm_eps, r.PositiveFloat("layer_norm_epsilon", 1e-5f));
  ASSIGN_OR_RETURN(c->tie_word_embeddings, r.Bool("tie_word_embeddings", true));
  ASSIGN_OR_RETURN(c->activation, r.String("activation_function", "gelu_new"));
  return Status::Ok();
}

Status LoadRopeScaling(const Reader& r, ModelConfig* c) {
  const auto* v = r.obj().if_contains("rope_scaling");
  if (v == nullptr || v->is_null()) return Status::Ok();
  const auto* obj = v->if_object();
  if (obj == nullptr) {
    return InvalidArgument(fmt::format("{}: 'rope_scaling' must be an object", r.what()),
                           "rope_scaling");
  }
  const std::string what = fmt::format("{}: rope_scaling", r.what());
  Reader s(*obj, what);
  ASSIGN_OR_RETURN(std::string type, s.String("type", ""));
  ASSIGN_OR_RETURN(type, s.String("rope_type", type));
  if (type == "default" || type.empty()) return Status::Ok();
  if (type != "llama3" && type != "linear") {
    return Unimplemented(fmt::format("{}: 'rope_type' '{}' is not supported (llama3, linear)",
                                     what, type));
  }
  c->rope_scaling.type = type;
  ASSIGN_OR_RETURN(c->rope_scaling.factor, s.PositiveFloat("factor", 1));
  ASSIGN_OR_RETURN(c->rope_scaling.low_freq_factor, s.PositiveFloat("low_freq_factor", 1));
  ASSIGN_OR_RETURN(c->rope_scaling.high_freq_factor, s.PositiveFloat("high_freq_factor", 4));
  ASSIGN_OR_RETURN(c->rope_scaling.original_max_position_embeddings,
                   s.Int("original_max_position_embeddings", c->max_positions));
  return Status::Ok();
}

Status LoadLlama(const Reader& r, ModelConfig* c) {
  ASSIGN_OR_RETURN(c->hidden_size, r.Int("hidden_size"));
  ASSIGN_OR_RETURN(c->num_layers, r.Int("num_hidden_layers"));
  ASSIGN_OR_RETURN(c->num_heads, r.Int("num_attention_heads"));
  ASSIGN_OR_RETURN(c->num_kv_heads, r.Int("num_key_value_heads", c->num_heads));
  ASSIGN_OR_RETURN(c->intermediate_size, r.Int("intermediate_size"));
  ASSIGN_OR_RETURN(c->max_positions, r.Int("max_position_embeddings", 2048));
  if (c->num_heads % c->num_kv_heads != 0) {
    return InvalidArgument(
        fmt::format("{}: 'num_attention_heads' ({}) is not a multiple of 'num_key_value_heads' "
                    "({})",
                    r.what(), c->num_heads, c->num_kv_heads),
        "num_key_value_heads");
  }
  if (!r.Has("head_dim") && c->hidden_size % c->num_heads != 0) {
    return InvalidArgument(
        fmt::format("{}: 'hidden_size' ({}) is not divisible by 'num_attention_heads' ({})",
                    r.what(), c->hidden_size, c->num_heads),
        "hidden_size");
  }
  ASSIGN_OR_RETURN(c->head_dim, r.Int("head_dim", c->hidden_size / c->num_heads));
  ASSIGN_OR_RETURN(c->norm_eps, r.PositiveFloat("rms_norm_eps", 1e-6f));
  ASSIGN_OR_RETURN(c->rope_theta, r.PositiveFloat("rope_theta", 10000));
  ASSIGN_OR_RETURN(c->tie_word_embeddings, r.Bool("tie_word_embeddings", false));
  ASSIGN_OR_RETURN(c->activation, r.String("hidden_act", "silu"));
  return LoadRopeScaling(r, c);
}

Result<const boost::json::object*> RootObject(const Result<boost::json::value>& parsed,
                                              std::string_view what) {
  if (!parsed.ok()) return parsed.status();
  const auto* obj = parsed->if_object();
  if (obj == nullptr) return InvalidArgument(fmt::format("{} is not a JSON object", what));
  return obj;
}

}  // namespace

Result<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view what) {
  auto parsed = json::Parse(json_text, what);
  ASSIGN_OR_RETURN(const boost::json::object* obj, RootObject(parsed, what));
  Reader r(*obj, what);
  ModelConfig c;
  ASSIGN_OR_RETURN(c.arch, DetectArch(r));
  ASSIGN_OR_RETURN(c.vocab_size, r.Int("vocab_size"));
  RETURN_IF_ERROR(c.arch == "gpt2" ? LoadGpt2(r, &c) : LoadLlama(r, &c));
  ASSIGN_OR_RETURN(c.bos_token_id, r.OptInt("bos_token_id"));
  ASSIGN_OR_RETURN(c.eos_token_ids, r.IntList("eos_token_id"));
  return c;
}

Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  return ParseModelConfig(text, path.string());
}

Result<GenerationDefaults> ParseGenerationConfig(std::string_view json_text,
                                                 std::string_view what) {
  auto parsed = json::Parse(json_text, what);
  ASSIGN_OR_RETURN(const boost::json::object* obj, RootObject(parsed, what));
  Reader r(*obj, what);
  GenerationDefaults g;
  ASSIGN_OR_RETURN(g.temperature, r.OptFloat("temperature"));
  ASSIGN_OR_RETURN(g.top_p, r.OptFloat("top_p"));
  ASSIGN_OR_RETURN(g.repetition_penalty, r.OptFloat("repetition_penalty"));
  ASSIGN_OR_RETURN(g.top_k, r.OptInt("top_k"));
  ASSIGN_OR_RETURN(g.max_length, r.OptInt("max_length"));
  ASSIGN_OR_RETURN(g.max_new_tokens, r.OptInt("max_new_tokens"));
  ASSIGN_OR_RETURN(auto do_sample, json::GetBool(*obj, "do_sample", what));
  g.do_sample = do_sample;
  ASSIGN_OR_RETURN(g.eos_token_ids, r.IntList("eos_token_id"));
  ASSIGN_OR_RETURN(g.bos_token_id, r.OptInt("bos_token_id"));
  return g;
}

Result<GenerationDefaults> LoadGenerationConfig(const std::filesystem::path& dir) {
  const auto path = dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return GenerationDefaults{};
  ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  return ParseGenerationConfig(text, path.string());
}

}  // namespace inferline::engine
