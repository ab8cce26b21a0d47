// Tokenizer loading: tokenizer.json components, the post-processor, tokenizer_config.json.
#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/io/mapped_file.h"
#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {
namespace {

const boost::json::value& Field(const boost::json::object& obj, std::string_view key) {
  static const boost::json::value kNull;
  const auto* v = obj.if_contains(key);
  return v ? *v : kNull;
}

struct PostProcessor {
  std::vector<int32_t> prefix, suffix;
  bool is_template = false;
};

Status ParseTemplateProcessing(const boost::json::object& obj, PostProcessor* pp) {
  constexpr std::string_view kWhat = "tokenizer.json: post_processor TemplateProcessing";
  const auto* single = obj.if_contains("single");
  const auto* specials_v = obj.if_contains("special_tokens");
  const auto* specials = specials_v ? specials_v->if_object() : nullptr;
  if (single == nullptr || !single->is_array()) {
    return InvalidArgument(fmt::format("{}: 'single' must be an array", kWhat));
  }
  bool seen_sequence = false;
  for (const auto& item : single->get_array()) {
    const auto* io = item.if_object();
    if (io && io->contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    const auto* st = io ? io->if_contains("SpecialToken") : nullptr;
    const auto* sto = st ? st->if_object() : nullptr;
    const auto* name = sto ? sto->if_contains("id") : nullptr;
    if (name == nullptr || !name->is_string()) {
      return InvalidArgument(fmt::format("{}: an item is neither Sequence nor SpecialToken", kWhat));
    }
    const auto* entry = specials ? specials->if_contains(name->get_string()) : nullptr;
    const auto* ids = (entry && entry->is_object()) ? entry->get_object().if_contains("ids")
                                                    : nullptr;
    if (ids == nullptr || !ids->is_array()) {
      return InvalidArgument(fmt::format("{}: special token '{}' has no ids", kWhat,
                                         std::string_view(name->get_string())));
    }
    for (const auto& idv : ids->get_array()) {
      auto id = json::AsInt(idv);
      if (!id || *id < 0 || *id > BpeModel::kMaxTokenId) {
        return InvalidArgument(fmt::format("{}: invalid id for '{}'", kWhat,
                                           std::string_view(name->get_string())));
      }
      (seen_sequence ? pp->suffix : pp->prefix).push_back(static_cast<int32_t>(*id));
    }
  }
  pp->is_template = true;
  return Status::Ok();
}

// RobertaProcessing / BertProcessing: {"cls": [token, id], "sep": [token, id]}.
Status ParseClsSep(const boost::json::object& obj, PostProcessor* pp) {
  auto id_of = [&](std::string_view key) -> std::optional<int32_t> {
    const auto* v = obj.if_contains(key);
    const auto* arr = v ? v->if_array() : nullptr;
    if (arr == nullptr || arr->size() != 2) return std::nullopt;
    auto id = json::AsInt((*arr)[1]);
    if (!id || *id < 0 || *id > BpeModel::kMaxTokenId) return std::nullopt;
    return static_cast<int32_t>(*id);
  };
  auto cls = id_of("cls"), sep = id_of("sep");
  if (!cls || !sep) {
    return InvalidArgument("tokenizer.json: post_processor needs 'cls' and 'sep' as [token, id]");
  }
  pp->prefix = {*cls};
  pp->suffix = {*sep};
  pp->is_template = true;
  return Status::Ok();
}

Status ParsePostProcessor(const boost::json::value& v, PostProcessor* pp) {
  if (v.is_null()) return Status::Ok();
  const auto* obj = v.if_object();
  const auto* type_v = obj ? obj->if_contains("type") : nullptr;
  if (type_v == nullptr || !type_v->is_string()) {
    return InvalidArgument("tokenizer.json: a post_processor has no 'type'");
  }
  const std::string_view type = type_v->get_string();
  if (type == "ByteLevel") return Status::Ok();  // only adjusts offsets
  if (type == "TemplateProcessing") return ParseTemplateProcessing(*obj, pp);
  if (type == "RobertaProcessing" || type == "BertProcessing") return ParseClsSep(*obj, pp);
  if (type == "Sequence") {
    const auto* list = obj->if_contains("processors");
    if (list == nullptr || !list->is_array()) {
      return InvalidArgument("tokenizer.json: post_processor Sequence needs 'processors'");
    }
    for (const auto& item : list->get_array()) RETURN_IF_ERROR(ParsePostProcessor(item, pp));
    return Status::Ok();
  }
  return Unimplemented(fmt::format("tokenizer.json: post_processor type '{}' is not supported",
                                   type));
}

// bos_token / eos_token: a string, or an AddedToken object {"content": ...}.
std::optional<std::string> TokenText(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  if (const auto* o = v.if_object()) {
    if (const auto* c = o->if_contains("content"); c && c->is_string()) {
      return std::string(c->get_string());
    }
  }
  return std::nullopt;
}

}  // namespace

Status Tokenizer::LoadTokenizerJson(std::string_view text) {
  ASSIGN_OR_RETURN(auto root_v, json::Parse(text, "tokenizer.json"));
  const auto* root = root_v.if_object();
  if (root == nullptr) return InvalidArgument("tokenizer.json is not a JSON object");
  const auto* model = root->if_contains("model");
  if (model == nullptr || !model->is_object()) {
    return InvalidArgument("tokenizer.json: 'model' is missing or not an object");
  }
  ASSIGN_OR_RETURN(model_, BpeModel::FromJson(model->get_object()));
  ASSIGN_OR_RETURN(normalizer_, ParseNormalizer(Field(*root, "normalizer")));
  ASSIGN_OR_RETURN(pre_tokenizer_, ParsePreTokenizer(Field(*root, "pre_tokenizer")));
  ASSIGN_OR_RETURN(decoder_, ParseDecoder(Field(*root, "decoder")));
  RETURN_IF_ERROR(added_->Load(Field(*root, "added_tokens")));
  PostProcessor pp;
  RETURN_IF_ERROR(ParsePostProcessor(Field(*root, "post_processor"), &pp));
  prefix_ids_ = std::move(pp.prefix);
  suffix_ids_ = std::move(pp.suffix);
  has_template_post_processor_ = pp.is_template;
  vocab_size_ = std::max(model_->vocab_size(), added_->max_id() + 1);
  return Status::Ok();
}

Status Tokenizer::LoadConfig(std::string_view text) {
  constexpr std::string_view kWhat = "tokenizer_config.json";
  ASSIGN_OR_RETURN(auto root_v, json::Parse(text, kWhat));
  const auto* root = root_v.if_object();
  if (root == nullptr) return InvalidArgument("tokenizer_config.json is not a JSON object");
  if (auto bos = TokenText(Field(*root, "bos_token"))) bos_token_ = *bos;
  if (auto eos = TokenText(Field(*root, "eos_token"))) eos_token_ = *eos;

  const auto& tmpl = Field(*root, "chat_template");
  if (const auto* s = tmpl.if_string()) {
    chat_template_ = std::string(*s);
  } else if (const auto* list = tmpl.if_array()) {  // named templates: take "default"
    for (const auto& item : *list) {
      const auto* o = item.if_object();
      const auto* name = o ? o->if_contains("name") : nullptr;
      const auto* t = o ? o->if_contains("template") : nullptr;
      if (name && t && name->is_string() && t->is_string() && name->get_string() == "default") {
        chat_template_ = std::string(t->get_string());
      }
    }
  } else if (!tmpl.is_null()) {
    return InvalidArgument("tokenizer_config.json: 'chat_template' must be a string or a list");
  }

  if (const auto* m = root->if_contains("model_max_length")) {
    if (auto n = json::AsInt(*m); n && *n > 0 && *n < (int64_t{1} << 40)) model_max_length_ = *n;
  }

  ASSIGN_OR_RETURN(auto add_bos, json::GetBool(*root, "add_bos_token", kWhat));
  ASSIGN_OR_RETURN(auto add_eos, json::GetBool(*root, "add_eos_token", kWhat));
  ASSIGN_OR_RETURN(auto cls, json::GetString(*root, "tokenizer_class", kWhat));
  // transformers rebuilds the post-processor of Llama tokenizers from these flags; for other
  // classes they only matter when tokenizer.json has no template of its own.
  const bool llama_class = cls && cls->find("Llama") != std::string::npos;
  if ((add_bos || add_eos) && (llama_class || !has_template_post_processor_)) {
    prefix_ids_.clear();
    suffix_ids_.clear();
    if (add_bos.value_or(llama_class) && !bos_token_.empty()) {
      if (auto id = TokenId(bos_token_)) prefix_ids_.push_back(*id);
    }
    if (add_eos.value_or(false) && !eos_token_.empty()) {
      if (auto id = TokenId(eos_token_)) suffix_ids_.push_back(*id);
    }
  }
  return Status::Ok();
}

void Tokenizer::ChooseSpecialTokens() {
  // Without tokenizer_config.json, fall back on the names the common families use.
  auto first_present = [&](std::initializer_list<std::string_view> names) -> std::string {
    for (auto n : names) {
      if (TokenId(n)) return std::string(n);
    }
    return {};
  };
  if (bos_token_.empty()) {
    bos_token_ = first_present({"<s>", "<|begin_of_text|>", "<|endoftext|>", "<bos>"});
  }
  if (eos_token_.empty()) {
    eos_token_ = first_present({"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>"});
  }
  if (!bos_token_.empty()) bos_id_ = TokenId(bos_token_);
  if (!eos_token_.empty()) eos_id_ = TokenId(eos_token_);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json,
                                                       std::string_view tokenizer_config_json) {
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  RETURN_IF_ERROR(tok->LoadTokenizerJson(tokenizer_json));
  if (!tokenizer_config_json.empty()) RETURN_IF_ERROR(tok->LoadConfig(tokenizer_config_json));
  tok->ChooseSpecialTokens();
  return tok;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::filesystem::path& dir) {
  auto json = ReadTextFile(dir / "tokenizer.json", size_t{512} << 20);
  if (!json.ok()) return json.status().Annotate("loading tokenizer");
  std::string config;
  std::error_code ec;
  if (std::filesystem::exists(dir / "tokenizer_config.json", ec)) {
    ASSIGN_OR_RETURN(config, ReadTextFile(dir / "tokenizer_config.json"));
  }
  auto tok = FromJson(*json, config);
  if (!tok.ok()) return tok.status().Annotate(dir.string());
  return tok;
}

}  // namespace inferline::engine
