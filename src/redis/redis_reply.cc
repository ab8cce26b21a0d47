#include "redis/redis_reply.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <charconv>

namespace inferline::redis {

Reply Reply::From(const redisReply* r) {
  Reply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(From(r->element[i]));
      break;
    default:
      out.type = Type::kNil;
  }
  return out;
}

Result<int64_t> Reply::AsInteger() const {
  if (type == Type::kInteger) return integer;
  if (type == Type::kString) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
    if (ec == std::errc() && p == str.data() + str.size()) return v;
  }
  return Internal(fmt::format("Redis answered {} where an integer was expected", Describe()));
}

Result<std::string> Reply::AsString() const {
  if (type == Type::kString || type == Type::kStatus) return str;
  return Internal(fmt::format("Redis answered {} where a string was expected", Describe()));
}

std::string Reply::Describe() const {
  switch (type) {
    case Type::kNil: return "nil";
    case Type::kInteger: return fmt::format("integer {}", integer);
    case Type::kString: return fmt::format("string '{}'", str.substr(0, 80));
    case Type::kStatus: return fmt::format("status '{}'", str);
    case Type::kError: return fmt::format("error '{}'", str);
    case Type::kArray: return fmt::format("array of {}", elements.size());
  }
  return "unknown";
}

}  // namespace inferline::redis
