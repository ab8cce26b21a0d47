#include "engine/tokenizer/jinja_lexer.h"

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

namespace inferline::engine::jinja {

// ---- Template level: text, {{ }}, {% %}, {# #} --------------------------------------------

Result<std::vector<Tag>> SplitTags(std::string_view src) {
  std::vector<Tag> tags;
  size_t pos = 0;
  bool trim_next = false;      // "-}}" / "-%}": strip leading whitespace of the next text
  bool block_newline = false;  // trim_blocks: drop one newline after a block tag
  while (pos <= src.size()) {
    size_t open = src.find('{', pos);
    while (open != std::string_view::npos && open + 1 < src.size() && src[open + 1] != '{' &&
           src[open + 1] != '%' && src[open + 1] != '#') {
      open = src.find('{', open + 1);
    }
    if (open != std::string_view::npos && open + 1 >= src.size()) open = std::string_view::npos;
    std::string text(src.substr(pos, open == std::string_view::npos ? std::string_view::npos
                                                                     : open - pos));
    if (block_newline && !text.empty() && text[0] == '\n') text.erase(0, 1);
    if (trim_next) text.erase(0, text.find_first_not_of(" \t\r\n") == std::string::npos
                                     ? text.size()
                                     : text.find_first_not_of(" \t\r\n"));
    if (open == std::string_view::npos) {
      if (!text.empty()) tags.push_back({Tag::kText, std::move(text)});
      break;
    }
    const char kind = src[open + 1];
    const bool minus_left = open + 2 < src.size() && src[open + 2] == '-';
    const bool plus_left = open + 2 < src.size() && src[open + 2] == '+';
    if (minus_left) {
      const size_t keep = text.find_last_not_of(" \t\r\n");
      text.erase(keep == std::string::npos ? 0 : keep + 1);
    } else if (kind != '{' && !plus_left) {
      // lstrip_blocks: spaces and tabs between the start of a source line and a block tag.
      size_t k = open;
      while (k > pos && (src[k - 1] == ' ' || src[k - 1] == '\t')) --k;
      if (k == 0 || src[k - 1] == '\n') text.erase(text.size() - std::min(open - k, text.size()));
    }
    if (!text.empty()) tags.push_back({Tag::kText, std::move(text)});
    const std::string_view close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    const size_t inner = open + 2 + ((minus_left || plus_left) ? 1 : 0);
    const size_t end = src.find(close, inner);
    if (end == std::string_view::npos) {
      return InvalidArgument(fmt::format("chat template: unclosed '{{{}' at offset {}", kind, open));
    }
    size_t body_end = end;
    trim_next = end > inner && src[end - 1] == '-';
    if (trim_next || (end > inner && src[end - 1] == '+')) --body_end;
    block_newline = kind != '{';
    if (kind == '{') tags.push_back({Tag::kExpr, std::string(src.substr(inner, body_end - inner))});
    if (kind == '%') tags.push_back({Tag::kStmt, std::string(src.substr(inner, body_end - inner))});
    pos = end + 2;
  }
  return tags;
}

// ---- Expression tokens -------------------------------------------------------------------

Result<std::vector<Token>> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Token::kName, std::string(s.substr(i, j - i))});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      bool is_float = j + 1 < s.size() && s[j] == '.' && std::isdigit(static_cast<unsigned char>(s[j + 1]));
      if (is_float) {
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      const std::string num(s.substr(i, j - i));
      Token t{is_float ? Token::kFloat : Token::kInt, num};
      if (is_float) {
        t.f = std::strtod(num.c_str(), nullptr);
      } else {
        if (num.size() > 18) return InvalidArgument("chat template: integer literal too large");
        t.i = std::stoll(num);
      }
      out.push_back(std::move(t));
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string str;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) {
          const char e = s[++j];
          str += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        } else {
          str += s[j];
        }
      }
      if (j >= s.size()) return InvalidArgument("chat template: unterminated string literal");
      out.push_back({Token::kString, std::move(str)});
      i = j + 1;
    } else {
      static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "//", "**"};
      std::string op(1, c);
      for (auto two : kTwo) {
        if (s.substr(i, 2) == two) op = std::string(two);
      }
      if (std::string_view("+-*/%~|.,:()[]{}=<>!").find(c) == std::string_view::npos) {
        return InvalidArgument(fmt::format("chat template: unexpected character '{}'", c));
      }
      out.push_back({Token::kOp, op});
      i += op.size();
    }
  }
  out.push_back({Token::kEnd, ""});
  return out;
}

}  // namespace inferline::engine::jinja
