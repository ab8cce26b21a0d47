#include "engine/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

struct Tables {
  std::array<std::string, 256> byte_to_utf8;
  std::array<int16_t, 324> char_to_byte;  // -1 where unmapped
};

const Tables& GetTables() {
  static const Tables tables = [] {
    Tables t;
    t.char_to_byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      unicode::AppendUtf8(&t.byte_to_utf8[b], cp);
      t.char_to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return tables;
}

}  // namespace

void ByteLevelEncode(std::string_view bytes, std::string* out) {
  const auto& t = GetTables();
  for (char c : bytes) out->append(t.byte_to_utf8[static_cast<uint8_t>(c)]);
}

bool ByteLevelDecode(std::string_view token, std::string* out) {
  const auto& t = GetTables();
  const size_t mark = out->size();
  size_t pos = 0;
  while (pos < token.size()) {
    const char32_t cp = unicode::NextCodePoint(token, &pos);
    if (cp >= t.char_to_byte.size() || t.char_to_byte[cp] < 0) {
      out->resize(mark);
      return false;
    }
    out->push_back(static_cast<char>(t.char_to_byte[cp]));
  }
  return true;
}

}  // namespace inferline::engine
