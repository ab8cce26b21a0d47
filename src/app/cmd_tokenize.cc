// `inferline tokenize`: what a text costs in tokens, with the model's own tokenizer, and the
// reverse. The gateway counts prompts with the same Tokenizer, so these ids are the ones a
// request is billed for (`--special` adds what the gateway adds to a completion prompt).
#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "app/command.h"
#include "app/model_path.h"
#include "common/json_value.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::app {
namespace {

struct TokenizeFlags {
  std::string model;
  std::vector<std::string> text;
  bool jsonl = false;
  bool decode = false;
  bool special = false;
  bool chat = false;
};

// --chat: a JSON array of {"role", "content"} messages, rendered with the model's chat template
// and encoded exactly as the gateway does for /v1/chat/completions (the template holds the
// special tokens, so none are added).
Result<std::vector<int32_t>> EncodeChat(std::string_view json_text, const engine::Tokenizer& t) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json_text, ec);
  if (ec || !v.is_array()) {
    return InvalidArgument("--chat expects a JSON array of {\"role\", \"content\"} messages");
  }
  std::vector<engine::Tokenizer::ChatMessage> msgs;
  for (const auto& m : v.as_array()) {
    const auto* o = m.if_object();
    const auto* role = o ? o->if_contains("role") : nullptr;
    const auto* content = o ? o->if_contains("content") : nullptr;
    if (!role || !role->is_string() || !content || !content->is_string()) {
      return InvalidArgument("each message needs string 'role' and 'content' fields");
    }
    msgs.push_back({std::string(role->as_string()), std::string(content->as_string())});
  }
  ASSIGN_OR_RETURN(std::string rendered, t.ApplyChatTemplate(msgs, /*add_generation_prompt=*/true));
  return t.Encode(rendered, /*add_special_tokens=*/false);
}

void PrintIds(const std::vector<int32_t>& ids, std::string& out) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ' ';
    out += std::to_string(ids[i]);
  }
  out += '\n';
}

// Ids separated by spaces or commas, or a JSON array of ids.
Result<std::vector<int32_t>> ParseIds(const std::string& line, const engine::Tokenizer& tok) {
  std::string s = line;
  for (char& c : s) {
    if (c == ',' || c == '[' || c == ']') c = ' ';
  }
  std::istringstream in(s);
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    long v = std::strtol(word.c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v >= tok.vocab_size()) {
      return InvalidArgument("'" + word + "' is not a token id of this model (0.." +
                             std::to_string(tok.vocab_size() - 1) + ")");
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

int Fail(const std::string& where, const Status& st) {
  std::fprintf(stderr, "inferline tokenize: %s%s\n", where.c_str(), st.message().c_str());
  return 2;
}

int RunTokenize(const TokenizeFlags& f) {
  std::string dir = f.model.empty() ? DefaultModelPath() : f.model;
  auto tok = engine::Tokenizer::Load(dir);
  if (!tok.ok()) {
    std::fprintf(stderr, "inferline tokenize: cannot load the tokenizer of %s: %s\n", dir.c_str(),
                 tok.status().message().c_str());
    return 1;
  }
  const engine::Tokenizer& t = **tok;
  std::string out;
  if (!f.jsonl) {
    std::string text;
    if (!f.text.empty()) {
      for (size_t i = 0; i < f.text.size(); ++i) text += (i ? " " : "") + f.text[i];
    } else {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    }
    if (f.decode) {
      auto ids = ParseIds(text, t);
      if (!ids.ok()) return Fail("", ids.status());
      out = t.Decode(*ids, /*skip_special_tokens=*/false);
    } else if (f.chat) {
      auto ids = EncodeChat(text, t);
      if (!ids.ok()) return Fail("", ids.status());
      PrintIds(*ids, out);
    } else {
      PrintIds(t.Encode(text, f.special), out);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  // One input per line: a JSON string to encode, or ids to decode into a JSON string.
  std::string line;
  size_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    std::string where = "line " + std::to_string(n) + ": ";
    if (f.decode) {
      auto ids = ParseIds(line, t);
      if (!ids.ok()) return Fail(where, ids.status());
      out += SerializeJson(boost::json::value(t.Decode(*ids, false)));
      out += '\n';
    } else if (f.chat) {
      auto ids = EncodeChat(line, t);
      if (!ids.ok()) return Fail(where, ids.status());
      PrintIds(*ids, out);
    } else {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(line, ec);
      if (ec || !v.is_string()) {
        return Fail(where, InvalidArgument("expected one JSON string per line"));
      }
      PrintIds(t.Encode(std::string_view(v.as_string()), f.special), out);
    }
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void AddTokenizeCommand(CLI::App& app, Commands& commands) {
  CLI::App* sub = app.add_subcommand(
      "tokenize", "Print the token ids of a text (or, with --decode, the text of ids)");
  auto f = std::make_shared<TokenizeFlags>();
  sub->add_option("--model,-m", f->model, "Model folder (default: the shipped models/kjv-small)");
  sub->add_option("text", f->text, "Text (default: standard input)");
  sub->add_flag("--jsonl", f->jsonl,
                "Read one JSON string per line from standard input, print one line of ids each "
                "(with --decode: ids per line in, one JSON string per line out)");
  sub->add_flag("--decode,-d", f->decode, "Ids in, text out (special tokens kept)");
  sub->add_flag("--special", f->special,
                "Add the model's special tokens (BOS) as the gateway does for a completion");
  sub->add_flag("--chat", f->chat,
                "The input is a JSON array of {role, content} messages (one per line with "
                "--jsonl): render the chat template and count as /v1/chat/completions does");
  commands.Add(sub, [f] { return RunTokenize(*f); });
}

}  // namespace inferline::app
