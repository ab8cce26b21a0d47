// Decoders from tokenizer.json ("decoder"): turn the token strings of a sequence of ids back
// into text.
//
// Supported: ByteLevel, Replace (String pattern), ByteFallback, Fuse, Strip, Metaspace, BPEDecoder
// (end-of-word suffix), Sequence, and null (HF then joins tokens with spaces). Strings here are
// raw bytes and may hold partial UTF-8: the caller makes the final text valid, so streaming can
// hold back an unfinished character instead of emitting U+FFFD.
//
// Thread-safety: immutable after construction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/status.h"

namespace inferline::engine {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // `streaming`: leave ill-formed byte runs as bytes (see ByteFallback in decoder.cc).
  virtual void Apply(std::vector<std::string>* tokens, bool streaming) const = 0;
};

// nullptr for JSON null.
[[nodiscard]] Result<std::unique_ptr<Decoder>> ParseDecoder(const boost::json::value& v);

}  // namespace inferline::engine
