// Jinja parsing: statements ({% if/for/set %}) and expressions into the tree of jinja_ast.h.
#include <cctype>

#include <fmt/format.h>

#include "engine/tokenizer/jinja_ast.h"
#include "engine/tokenizer/jinja_lexer.h"

namespace inferline::engine::jinja {
namespace {

// Recursion budget: each parenthesis or subscript costs about a dozen levels.
constexpr int kMaxDepth = 200;

// ---- Expression parser (recursive descent, Jinja precedence) ------------------------------

using ExprPtr = std::unique_ptr<Expr>;

ExprPtr MakeExpr(Expr::Kind kind, std::string name = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->name = std::move(name);
  return e;
}

class ExprParser {
 public:
  explicit ExprParser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Result<ExprPtr> Parse() { return Expression(0); }
  bool AtEnd() const { return t_[p_].kind == Token::kEnd; }
  const Token& Peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::kOp && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::kName && Peek(ahead).text == name;
  }
  bool Accept(std::string_view op) {
    if (!IsOp(op)) return false;
    ++p_;
    return true;
  }
  bool AcceptName(std::string_view name) {
    if (!IsName(name)) return false;
    ++p_;
    return true;
  }
  Status Expect(std::string_view op) {
    if (Accept(op)) return Status::Ok();
    return Error(fmt::format("expected '{}'", op));
  }
  Result<std::string> Name() {
    if (Peek().kind != Token::kName) return Error("expected a name");
    return t_[p_++].text;
  }
  Status Error(std::string_view what) const {
    return InvalidArgument(fmt::format("chat template: {} near '{}'", what, Peek().text));
  }

  // Without the conditional (for `for x in y if cond`, where `if` ends the iterable).
  Result<ExprPtr> OrExpr(int depth) { return Or(depth + 1); }

 private:
  Result<ExprPtr> Expression(int depth) {
    if (depth > kMaxDepth) return Error("expression nested too deeply");
    ASSIGN_OR_RETURN(ExprPtr value, Or(depth + 1));
    if (!IsName("if") || no_cond_) return value;
    ++p_;
    auto e = MakeExpr(Expr::Kind::kCond);
    ASSIGN_OR_RETURN(ExprPtr cond, Or(depth + 1));
    e->args.push_back(std::move(value));
    e->args.push_back(std::move(cond));
    if (AcceptName("else")) {
      ASSIGN_OR_RETURN(ExprPtr other, Expression(depth + 1));
      e->args.push_back(std::move(other));
    } else {
      e->args.push_back(nullptr);
    }
    return e;
  }

  Result<ExprPtr> Binary(ExprPtr lhs, std::string op, ExprPtr rhs) {
    auto e = MakeExpr(Expr::Kind::kBinary, std::move(op));
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return e;
  }

  Result<ExprPtr> Or(int depth) {
    ASSIGN_OR_RETURN(ExprPtr lhs, And(depth + 1));
    while (AcceptName("or")) {
      ASSIGN_OR_RETURN(ExprPtr rhs, And(depth + 1));
      ASSIGN_OR_RETURN(lhs, Binary(std::move(lhs), "or", std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> And(int depth) {
    ASSIGN_OR_RETURN(ExprPtr lhs, Not(depth + 1));
    while (AcceptName("and")) {
      ASSIGN_OR_RETURN(ExprPtr rhs, Not(depth + 1));
      ASSIGN_OR_RETURN(lhs, Binary(std::move(lhs), "and", std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> Not(int depth) {
    if (depth > kMaxDepth) return Error("expression nested too deeply");
    if (AcceptName("not")) {
      ASSIGN_OR_RETURN(ExprPtr operand, Not(depth + 1));
      auto e = MakeExpr(Expr::Kind::kUnary, "not");
      e->args.push_back(std::move(operand));
      return e;
    }
    return Compare(depth + 1);
  }

  Result<ExprPtr> Compare(int depth) {
    ASSIGN_OR_RETURN(ExprPtr lhs, Concat(depth + 1));
    while (true) {
      std::string op;
      if (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">=")) {
        op = t_[p_++].text;
      } else if (IsName("in")) {
        ++p_;
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        p_ += 2;
        op = "not in";
      } else if (IsName("is")) {
        ++p_;
        auto e = MakeExpr(Expr::Kind::kTest);
        e->negate = AcceptName("not");
        ASSIGN_OR_RETURN(e->name, Name());
        e->args.push_back(std::move(lhs));
        if (Peek().kind == Token::kString || Peek().kind == Token::kInt ||
            (Peek().kind == Token::kName && !IsName("and") && !IsName("or") && !IsName("else") &&
             !IsName("if"))) {
          ASSIGN_OR_RETURN(ExprPtr arg, Concat(depth + 1));  // `is equalto 3`
          e->args.push_back(std::move(arg));
        } else if (Accept("(")) {
          ASSIGN_OR_RETURN(ExprPtr arg, Expression(depth + 1));
          e->args.push_back(std::move(arg));
          RETURN_IF_ERROR(Expect(")"));
        }
        lhs = std::move(e);
        continue;
      } else {
        return lhs;
      }
      ASSIGN_OR_RETURN(ExprPtr rhs, Concat(depth + 1));
      ASSIGN_OR_RETURN(lhs, Binary(std::move(lhs), op, std::move(rhs)));
    }
  }

  Result<ExprPtr> Concat(int depth) {
    ASSIGN_OR_RETURN(ExprPtr lhs, Additive(depth + 1));
    while (Accept("~")) {
      ASSIGN_OR_RETURN(ExprPtr rhs, Additive(depth + 1));
      ASSIGN_OR_RETURN(lhs, Binary(std::move(lhs), "~", std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> Additive(int depth) {
    ASSIGN_OR_RETURN(ExprPtr lhs, Multiplicative(depth + 1));
    while (IsOp("+") || IsOp("-")) {
      std::string op = t_[p_++].text;
      ASSIGN_OR_RETURN(ExprPtr rhs, Multiplicative(depth + 1));
      ASSIGN_OR_RETURN(lhs, Binary(std::move(lhs), op, std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> Multiplicative(int depth) {
    ASSIGN_OR_RETURN(ExprPtr lhs, Unary(depth + 1));
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = t_[p_++].text;
      ASSIGN_OR_RETURN(ExprPtr rhs, Unary(depth + 1));
      ASSIGN_OR_RETURN(lhs, Binary(std::move(lhs), op, std::move(rhs)));
    }
    return lhs;
  }

  Result<ExprPtr> Unary(int depth) {
    if (depth > kMaxDepth) return Error("expression nested too deeply");
    if (Accept("-")) {
      ASSIGN_OR_RETURN(ExprPtr operand, Unary(depth + 1));
      auto e = MakeExpr(Expr::Kind::kUnary, "-");
      e->args.push_back(std::move(operand));
      return e;
    }
    if (Accept("+")) return Unary(depth + 1);
    return Filtered(depth + 1);
  }

  Status Arguments(Expr* call, int depth) {  // after "(": positional and keyword arguments
    while (!Accept(")")) {
      if (Peek().kind == Token::kName && IsOp("=", 1)) {
        std::string key = t_[p_].text;
        p_ += 2;
        ASSIGN_OR_RETURN(ExprPtr v, Expression(depth + 1));
        call->kwargs.emplace_back(std::move(key), std::move(v));
      } else {
        ASSIGN_OR_RETURN(ExprPtr v, Expression(depth + 1));
        call->args.push_back(std::move(v));
      }
      if (!IsOp(")")) RETURN_IF_ERROR(Expect(","));
      if (AtEnd()) return Error("unclosed '('");
    }
    return Status::Ok();
  }

  Result<ExprPtr> Filtered(int depth) {
    ASSIGN_OR_RETURN(ExprPtr value, Postfix(depth + 1));
    while (Accept("|")) {
      auto f = MakeExpr(Expr::Kind::kFilter);
      ASSIGN_OR_RETURN(f->name, Name());
      f->args.push_back(std::move(value));
      if (Accept("(")) RETURN_IF_ERROR(Arguments(f.get(), depth));
      value = std::move(f);
    }
    return value;
  }

  Result<ExprPtr> Postfix(int depth) {
    ASSIGN_OR_RETURN(ExprPtr value, Primary(depth + 1));
    while (true) {
      if (Accept(".")) {
        auto e = MakeExpr(Expr::Kind::kAttr);
        if (Peek().kind == Token::kInt) {
          e->name = std::to_string(t_[p_++].i);
        } else {
          ASSIGN_OR_RETURN(e->name, Name());
        }
        e->args.push_back(std::move(value));
        value = std::move(e);
      } else if (Accept("[")) {
        ASSIGN_OR_RETURN(value, Subscript(std::move(value), depth));
      } else if (Accept("(")) {
        auto call = MakeExpr(Expr::Kind::kCall);
        call->args.push_back(std::move(value));
        RETURN_IF_ERROR(Arguments(call.get(), depth));
        value = std::move(call);
      } else {
        return value;
      }
    }
  }

  Result<ExprPtr> Subscript(ExprPtr value, int depth) {  // after "["
    ExprPtr parts[3];
    int part = 0;
    bool slice = false;
    while (!Accept("]")) {
      if (Accept(":")) {
        slice = true;
        if (++part > 2) return Error("bad slice");
        continue;
      }
      if (parts[part]) return Error("expected ']'");
      ASSIGN_OR_RETURN(parts[part], Expression(depth + 1));
      if (AtEnd()) return Error("unclosed '['");
    }
    if (!slice) {
      if (!parts[0]) return Error("empty subscript");
      auto e = MakeExpr(Expr::Kind::kIndex);
      e->args.push_back(std::move(value));
      e->args.push_back(std::move(parts[0]));
      return e;
    }
    auto e = MakeExpr(Expr::Kind::kSlice);
    e->args.push_back(std::move(value));
    for (auto& p : parts) e->args.push_back(std::move(p));
    return e;
  }

  Result<ExprPtr> Primary(int depth) {
    if (depth > kMaxDepth) return Error("expression nested too deeply");
    const Token tok = Peek();
    auto literal = [](Value v) {
      auto e = MakeExpr(Expr::Kind::kLiteral);
      e->literal = std::move(v);
      return e;
    };
    switch (tok.kind) {
      case Token::kString: {
        ++p_;
        std::string s = tok.text;
        while (Peek().kind == Token::kString) s += t_[p_++].text;  // adjacent literals join
        return literal(Value::Str(std::move(s)));
      }
      case Token::kInt: ++p_; return literal(Value::Int(tok.i));
      case Token::kFloat: ++p_; return literal(Value::Float(tok.f));
      case Token::kName:
        ++p_;
        if (tok.text == "true" || tok.text == "True") return literal(Value::Bool(true));
        if (tok.text == "false" || tok.text == "False") return literal(Value::Bool(false));
        if (tok.text == "none" || tok.text == "None") return literal(Value::None());
        return MakeExpr(Expr::Kind::kName, tok.text);
      case Token::kOp:
        if (Accept("(")) {
          ASSIGN_OR_RETURN(ExprPtr inner, Expression(depth + 1));
          if (IsOp(",")) {  // a tuple: treat as a list
            auto list = MakeExpr(Expr::Kind::kList);
            list->args.push_back(std::move(inner));
            while (Accept(",") && !IsOp(")")) {
              ASSIGN_OR_RETURN(ExprPtr item, Expression(depth + 1));
              list->args.push_back(std::move(item));
            }
            inner = std::move(list);
          }
          RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (Accept("[")) {
          auto list = MakeExpr(Expr::Kind::kList);
          while (!Accept("]")) {
            ASSIGN_OR_RETURN(ExprPtr item, Expression(depth + 1));
            list->args.push_back(std::move(item));
            if (!IsOp("]")) RETURN_IF_ERROR(Expect(","));
            if (AtEnd()) return Error("unclosed '['");
          }
          return list;
        }
        if (Accept("{")) {
          auto dict = MakeExpr(Expr::Kind::kDict);
          while (!Accept("}")) {
            if (Peek().kind != Token::kString) return Error("dict keys must be strings");
            std::string key = t_[p_++].text;
            RETURN_IF_ERROR(Expect(":"));
            ASSIGN_OR_RETURN(ExprPtr v, Expression(depth + 1));
            dict->kwargs.emplace_back(std::move(key), std::move(v));
            if (!IsOp("}")) RETURN_IF_ERROR(Expect(","));
            if (AtEnd()) return Error("unclosed '{'");
          }
          return dict;
        }
        break;
      case Token::kEnd: break;
    }
    return Error("unexpected token");
  }

 public:
  bool no_cond_ = false;

 private:
  std::vector<Token> t_;
  size_t p_ = 0;
};

// ---- Statements ---------------------------------------------------------------------------

class StmtParser {
 public:
  explicit StmtParser(std::vector<Tag> tags) : tags_(std::move(tags)) {}

  // Parses nodes until one of `terminators` (a statement keyword) or the end; *stop receives
  // the terminating statement's tokens.
  Status Block(std::vector<Node>* out, std::initializer_list<std::string_view> terminators,
               std::string* stop_keyword, std::vector<Token>* stop_tokens, int depth) {
    if (depth > kMaxDepth) return InvalidArgument("chat template: blocks nested too deeply");
    while (pos_ < tags_.size()) {
      Tag& tag = tags_[pos_++];
      if (tag.kind == Tag::kText) {
        Node n;
        n.text = std::move(tag.body);
        out->push_back(std::move(n));
        continue;
      }
      ASSIGN_OR_RETURN(auto tokens, Lex(tag.body));
      if (tag.kind == Tag::kExpr) {
        ExprParser p(std::move(tokens));
        Node n;
        n.kind = Node::Kind::kOutput;
        ASSIGN_OR_RETURN(n.expr, p.Parse());
        if (!p.AtEnd()) return p.Error("unexpected text after expression");
        out->push_back(std::move(n));
        continue;
      }
      if (tokens.empty() || tokens[0].kind != Token::kName) {
        return InvalidArgument(fmt::format("chat template: bad statement '{{%{}%}}'", tag.body));
      }
      const std::string keyword = tokens[0].text;
      for (auto t : terminators) {
        if (keyword == t) {
          *stop_keyword = keyword;
          *stop_tokens = std::move(tokens);
          return Status::Ok();
        }
      }
      Node n;
      if (keyword == "if") {
        RETURN_IF_ERROR(If(std::move(tokens), &n, depth));
      } else if (keyword == "for") {
        RETURN_IF_ERROR(For(std::move(tokens), &n, depth));
      } else if (keyword == "set") {
        RETURN_IF_ERROR(Set(std::move(tokens), &n));
      } else {
        return InvalidArgument(
            fmt::format("chat template: unsupported statement '{}'", keyword));
      }
      out->push_back(std::move(n));
    }
    if (terminators.size() > 0) {
      return InvalidArgument(fmt::format("chat template: missing '{{% {} %}}'",
                                         *std::prev(terminators.end())));
    }
    return Status::Ok();
  }

 private:
  Status If(std::vector<Token> tokens, Node* n, int depth) {
    n->kind = Node::Kind::kIf;
    while (true) {
      ExprParser p(std::move(tokens));
      ExprPtr cond;
      p.AcceptName(p.Peek().text);  // "if", "elif" or "else"
      if (!p.AtEnd()) {
        ASSIGN_OR_RETURN(cond, p.Parse());
        if (!p.AtEnd()) return p.Error("unexpected text after condition");
      }
      std::vector<Node> body;
      std::string stop;
      tokens.clear();
      RETURN_IF_ERROR(Block(&body, {"elif", "else", "endif"}, &stop, &tokens, depth + 1));
      n->branches.emplace_back(std::move(cond), std::move(body));
      if (stop == "endif") return Status::Ok();
    }
  }

  Status For(std::vector<Token> tokens, Node* n, int depth) {
    n->kind = Node::Kind::kFor;
    ExprParser p(std::move(tokens));
    p.AcceptName("for");
    ASSIGN_OR_RETURN(std::string first, p.Name());
    n->targets.push_back(first);
    if (p.Accept(",")) {
      ASSIGN_OR_RETURN(std::string second, p.Name());
      n->targets.push_back(second);
    }
    if (!p.AcceptName("in")) return p.Error("expected 'in'");
    p.no_cond_ = true;
    ASSIGN_OR_RETURN(n->expr, p.OrExpr(0));
    if (p.AcceptName("if")) {
      ASSIGN_OR_RETURN(n->loop_filter, p.OrExpr(0));
    }
    if (!p.AtEnd()) return p.Error("unexpected text in for");
    std::string stop;
    std::vector<Token> stop_tokens;
    RETURN_IF_ERROR(Block(&n->body, {"else", "endfor"}, &stop, &stop_tokens, depth + 1));
    if (stop == "else") {
      RETURN_IF_ERROR(Block(&n->else_body, {"endfor"}, &stop, &stop_tokens, depth + 1));
    }
    return Status::Ok();
  }

  Status Set(std::vector<Token> tokens, Node* n) {
    n->kind = Node::Kind::kSet;
    ExprParser p(std::move(tokens));
    p.AcceptName("set");
    ASSIGN_OR_RETURN(std::string name, p.Name());
    n->targets.push_back(name);
    if (p.Accept(".")) {
      ASSIGN_OR_RETURN(std::string attr, p.Name());
      n->targets.push_back(attr);
    }
    if (!p.Accept("=")) return p.Error("block {% set %} is not supported; expected '='");
    ASSIGN_OR_RETURN(n->expr, p.Parse());
    if (!p.AtEnd()) return p.Error("unexpected text after set");
    return Status::Ok();
  }

  std::vector<Tag> tags_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<Template>> Template::Parse(std::string_view source) {
  ASSIGN_OR_RETURN(auto tags, SplitTags(source));
  StmtParser parser(std::move(tags));
  std::unique_ptr<Template> t(new Template());
  std::string stop;
  std::vector<Token> stop_tokens;
  RETURN_IF_ERROR(parser.Block(t->body_.get(), {}, &stop, &stop_tokens, 0));
  if (!stop.empty()) {
    return InvalidArgument(fmt::format("chat template: unexpected '{{% {} %}}'", stop));
  }
  return t;
}

}  // namespace inferline::engine::jinja
