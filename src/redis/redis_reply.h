// Reply: a Redis reply copied out of hiredis's redisReply into a plain value (so that no hiredis
// type leaks out of this component), with accessors that turn unexpected shapes into a Status.
//
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

struct redisReply;

namespace inferline::redis {

struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus and kError
  std::vector<Reply> elements;  // kArray

  static Reply From(const redisReply* r);

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  // An integer, or a string holding one (Lua numbers come back as integers, HGET as strings).
  [[nodiscard]] Result<int64_t> AsInteger() const;
  // A bulk or status string.
  [[nodiscard]] Result<std::string> AsString() const;
  // For error messages: the reply in one line.
  std::string Describe() const;
};

}  // namespace inferline::redis
