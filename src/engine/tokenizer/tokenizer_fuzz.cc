// libFuzzer target for the tokenizer. The first input byte picks what to fuzz:
//   0: encode/decode/stream with a byte-level BPE tokenizer (Llama-3 split regex, added tokens
//      with strip flags); valid UTF-8 must round-trip exactly;
//   1: the same with a SentencePiece-style tokenizer (NFC, Prepend, byte fallback, Strip);
//   2: decode and stream arbitrary (also out-of-range) ids;
//   3: load the rest as tokenizer.json;
//   4: render the rest as a chat template.
// Crashes, sanitizer reports and failed invariants (abort) are findings.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace {

using inferline::engine::StreamDecoder;
using inferline::engine::Tokenizer;

std::string ByteChars() {  // the 256 GPT-2 byte characters as vocab entries, ids 0-255
  std::string v;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    std::string ch;
    inferline::engine::unicode::AppendUtf8(&ch, printable ? b : next++);
    if (ch == "\"" || ch == "\\") ch = "\\" + ch;
    v += (b ? ",\"" : "\"") + ch + "\":" + std::to_string(b);
  }
  return v;
}

const Tokenizer& ByteLevel() {
  static const auto* tok = [] {
    const std::string json = R"({"added_tokens":[
        {"id":300,"content":"<|end|>","special":true},
        {"id":301,"content":"<m>","special":true,"lstrip":true,"rstrip":true},
        {"id":302,"content":"ab","single_word":true}],
      "pre_tokenizer":{"type":"Sequence","pretokenizers":[
        {"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated"},
        {"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]},
      "decoder":{"type":"ByteLevel"},
      "model":{"type":"BPE","ignore_merges":true,"vocab":{)" +
                             ByteChars() + R"(,"th":256,"Ġth":257,"the":258,"Ġthe":259,"ĠĠ":260},
        "merges":["t h","Ġ th","th e","Ġth e","Ġ Ġ"]}})";
    auto t = Tokenizer::FromJson(json);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      std::abort();
    }
    return std::move(t).value().release();
  }();
  return *tok;
}

const Tokenizer& SentencePiece() {
  static const auto* tok = [] {
    std::string vocab = R"("<unk>":0,"<s>":1,"</s>":2)";
    char buf[32];
    for (int b = 0; b < 256; ++b) {
      std::snprintf(buf, sizeof(buf), ",\"<0x%02X>\":%d", b, 3 + b);
      vocab += buf;
    }
    vocab += R"(,"▁":259,"a":260,"b":261,"▁a":262,"ab":263,"▁ab":264)";
    const std::string json = R"({"added_tokens":[
        {"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},
        {"id":2,"content":"</s>","special":true}],
      "normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"},
        {"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
      "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>"}},
        {"Sequence":{"id":"A"}}],"special_tokens":{"<s>":{"id":"<s>","ids":[1]}}},
      "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
        {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
      "model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"fuse_unk":true,
        "vocab":{)" + vocab + R"(},"merges":["▁ a","a b","▁a b"]}})";
    auto t = Tokenizer::FromJson(json);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      std::abort();
    }
    return std::move(t).value().release();
  }();
  return *tok;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

void StreamEqualsDecode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  StreamDecoder stream(tok, skip);
  std::string joined;
  for (int32_t id : ids) joined += stream.Push(id);
  joined += stream.Flush();
  const std::string decoded =
      inferline::engine::unicode::ToValidUtf8(tok.DecodeBytes(ids, skip, true));
  if (joined != decoded) {
    std::fprintf(stderr, "ids (skip %d):", skip ? 1 : 0);
    for (int32_t id : ids) std::fprintf(stderr, " %d", id);
    auto hex = [](const std::string& s) {
      std::string out;
      char buf[4];
      for (unsigned char c : s) {
        std::snprintf(buf, sizeof(buf), "%02x", c);
        out += buf;
      }
      return out;
    };
    std::fprintf(stderr, "\nstream: %s\ndecode: %s\n", hex(joined).c_str(), hex(decoded).c_str());
  }
  Check(joined == decoded, "stream == decode");
}

void FuzzText(const Tokenizer& tok, std::string_view text, bool expect_round_trip) {
  const auto ids = tok.Encode(text, /*add_special_tokens=*/true);
  for (int32_t id : ids) Check(id >= 0 && id < tok.vocab_size(), "ids in range");
  const std::string decoded = tok.Decode(tok.Encode(text), /*skip_special_tokens=*/false);
  Check(inferline::engine::unicode::ToValidUtf8(decoded) == decoded, "decode is valid UTF-8");
  if (expect_round_trip && inferline::engine::unicode::ToValidUtf8(text) == text) {
    Check(decoded == text, "round trip");
  }
  StreamEqualsDecode(tok, ids, true);
  StreamEqualsDecode(tok, ids, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0:  // "<m>" swallows the whitespace around it, so such texts cannot round-trip
      FuzzText(ByteLevel(), rest, rest.find("<m>") == std::string_view::npos);
      break;
    case 1: FuzzText(SentencePiece(), rest, false); break;
    case 2: {
      std::vector<int32_t> ids;
      for (size_t i = 0; i + 1 < rest.size(); i += 2) {
        ids.push_back(static_cast<int16_t>((static_cast<uint8_t>(rest[i]) << 8) |
                                           static_cast<uint8_t>(rest[i + 1])));
      }
      for (const Tokenizer* tok : {&ByteLevel(), &SentencePiece()}) {
        (void)tok->Decode(ids, true);
        (void)tok->Decode(ids, false);
        StreamEqualsDecode(*tok, ids, true);
        StreamEqualsDecode(*tok, ids, false);
      }
      break;
    }
    case 3: {
      auto tok = Tokenizer::FromJson(rest);
      if (tok.ok()) FuzzText(**tok, "Hello, world! 123 \xE2\x82\xAC", false);
      break;
    }
    case 4: {
      const std::vector<inferline::engine::ChatTurn> msgs = {{"system", "s"}, {"user", "u"}};
      (void)inferline::engine::RenderChatTemplate(rest, msgs, "<s>", "</s>", true);
      break;
    }
  }
  return 0;
}
