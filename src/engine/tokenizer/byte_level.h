// GPT-2's reversible byte <-> printable-character mapping used by byte-level BPE.
//
// Each byte maps to one Unicode character: printable Latin-1 bytes map to themselves and the
// rest (controls, space, 0x7F-0xA0, 0xAD) to U+0100 onwards, so "Ġ" (U+0120) is a space.
//
// Thread-safety: constant tables built on first use (thread-safe static init).
#pragma once

#include <string>
#include <string_view>

namespace inferline::engine {

// Appends the mapped characters of `bytes` (UTF-8) to *out.
void ByteLevelEncode(std::string_view bytes, std::string* out);

// Maps a token's characters back to bytes and appends them. Returns false, appending nothing,
// if some character is outside the mapping (HF then uses the token's own UTF-8 bytes).
bool ByteLevelDecode(std::string_view token, std::string* out);

}  // namespace inferline::engine
