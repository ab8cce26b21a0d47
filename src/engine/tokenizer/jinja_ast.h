// Syntax tree of a parsed Jinja template (internal to jinja_parser.cc and jinja_eval.cc).
//
// Thread-safety: immutable after parsing.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tokenizer/jinja.h"

namespace inferline::engine::jinja {

struct Expr {
  enum class Kind {
    kLiteral,  // literal
    kName,     // name
    kAttr,     // args[0].name
    kIndex,    // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]] (null children are absent bounds)
    kCall,     // args[0](args[1..], kwargs)
    kFilter,   // args[0] | name(args[1..], kwargs)
    kTest,     // args[0] is [not] name(args[1..])
    kUnary,    // name ("not", "-") args[0]
    kBinary,   // args[0] name args[1]
    kCond,     // args[0] if args[1] else args[2] (args[2] may be null)
    kList,     // [args...]
    kDict,     // {kwargs...} with keys from args (string literals)
  };
  Kind kind = Kind::kLiteral;
  Value literal;
  std::string name;
  bool negate = false;
  std::vector<std::unique_ptr<Expr>> args;
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;
};

struct Node {
  enum class Kind { kText, kOutput, kIf, kFor, kSet };
  Kind kind = Kind::kText;
  std::string text;
  std::unique_ptr<Expr> expr;  // output value, set value, for iterable
  // if/elif/else branches; the else branch has a null condition.
  std::vector<std::pair<std::unique_ptr<Expr>, std::vector<Node>>> branches;
  // for: loop variable names (1 or 2); set: {name} or {namespace, attribute}.
  std::vector<std::string> targets;
  std::unique_ptr<Expr> loop_filter;  // for x in y if <filter>
  std::vector<Node> body, else_body;
};

}  // namespace inferline::engine::jinja
