#include "engine/tokenizer/tokenizer.h"

#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/tokenizer/byte_level.h"

namespace inferline::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("INFERLINE_SOURCE_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

// A byte-level BPE tokenizer.json: the 256 byte characters (ids 0-255) plus `extra` tokens and
// `merges` (JSON array text), and `added` (JSON array text).
std::string ByteLevelJson(const std::vector<std::string>& extra, const std::string& merges,
                          const std::string& added = "[]", const std::string& post = "null") {
  std::string vocab = "{";
  int id = 0;
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    ByteLevelEncode(std::string(1, static_cast<char>(b)), &ch);
    const std::string esc = ch == "\"" ? "\\\"" : ch == "\\" ? "\\\\" : ch;
    vocab += fmt::format("{}\"{}\":{}", id ? "," : "", esc, id);
    ++id;
  }
  for (const auto& t : extra) vocab += fmt::format(",\"{}\":{}", t, id++);
  vocab += "}";
  return fmt::format(
      R"({{"version":"1.0","added_tokens":{},"normalizer":null,
      "pre_tokenizer":{{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}},
      "post_processor":{},"decoder":{{"type":"ByteLevel"}},
      "model":{{"type":"BPE","vocab":{},"merges":{}}}}})",
      added, post, vocab, merges);
}

std::unique_ptr<Tokenizer> MustLoad(const std::string& json, const std::string& config = "") {
  auto tok = Tokenizer::FromJson(json, config);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

TEST(TokenizerTest, MergesInBothFormatsGiveTheSameIds) {
  // ids: 256 "he", 257 "ll", 258 "hell", 259 "hello", 260 "Ġw"
  const std::vector<std::string> extra = {"he", "ll", "hell", "hello", "\u0120w"};
  auto a = MustLoad(ByteLevelJson(extra, R"(["h e","l l","he ll","hell o","Ġ w"])"));
  auto b = MustLoad(
      ByteLevelJson(extra, R"([["h","e"],["l","l"],["he","ll"],["hell","o"],["Ġ","w"]])"));
  ASSERT_TRUE(a && b);
  const auto ids = a->Encode("hello world");
  EXPECT_EQ(ids, b->Encode("hello world"));
  EXPECT_THAT(ids, ElementsAre(259, 260, 'o', 'r', 'l', 'd'));
  EXPECT_EQ(a->Decode(ids), "hello world");
  EXPECT_EQ(a->TokenToPiece(260), "\u0120w");
  EXPECT_EQ(a->TokenId("hello"), 259);
  EXPECT_EQ(a->vocab_size(), 261);
}

TEST(TokenizerTest, MergeRankOrderNotLeftToRight) {
  // "abc": merge "b c" (rank 0) beats "a b" (rank 1) -> a + bc.
  auto tok = MustLoad(ByteLevelJson({"bc", "ab"}, R"(["b c","a b"])"));
  ASSERT_TRUE(tok);
  EXPECT_THAT(tok->Encode("abc"), ElementsAre('a', 256));
  EXPECT_THAT(tok->Encode("abab"), ElementsAre(257, 257));
}

TEST(TokenizerTest, LongWordIsEncodedQuickly) {
  auto tok = MustLoad(ByteLevelJson({"aa", "aaaa"}, R"(["a a","aa aa"])"));
  ASSERT_TRUE(tok);
  const std::string word(60000, 'a');  // quadratic merging would take many seconds
  const auto ids = tok->Encode(word);
  EXPECT_EQ(ids.size(), 15000u);
  EXPECT_EQ(tok->Decode(ids), word);
}

TEST(TokenizerTest, AddedTokensSplitTextAndHonourStripFlags) {
  const std::string added =
      R"([{"id":300,"content":"<|end|>","special":true},
          {"id":301,"content":"<mask>","special":true,"lstrip":true,"rstrip":true},
          {"id":302,"content":"cat","special":false,"single_word":true}])";
  auto tok = MustLoad(ByteLevelJson({}, "[]", added));
  ASSERT_TRUE(tok);
  EXPECT_THAT(tok->Encode("a<|end|>b"), ElementsAre('a', 300, 'b'));
  EXPECT_THAT(tok->Encode("a  <mask>  b"), ElementsAre('a', 301, 'b'));
  EXPECT_THAT(tok->Encode("cat"), ElementsAre(302));
  EXPECT_THAT(tok->Encode("cats"), ElementsAre('c', 'a', 't', 's'));  // not a single word
  EXPECT_TRUE(tok->IsSpecial(300));
  EXPECT_FALSE(tok->IsSpecial(302));
  EXPECT_FALSE(tok->IsSpecial('a'));
  const std::vector<int32_t> ids = {'a', 300, 'b', 302};
  EXPECT_EQ(tok->Decode(ids, /*skip_special_tokens=*/true), "abcat");
  EXPECT_EQ(tok->Decode(ids, /*skip_special_tokens=*/false), "a<|end|>bcat");
  EXPECT_EQ(tok->vocab_size(), 303);
}

TEST(TokenizerTest, TemplatePostProcessorAndConfigBos) {
  const std::string added = R"([{"id":256,"content":"<s>","special":true},
                               {"id":257,"content":"</s>","special":true}])";
  const std::string post = R"({"type":"TemplateProcessing",
      "single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
                {"SpecialToken":{"id":"</s>","type_id":0}}],
      "special_tokens":{"<s>":{"id":"<s>","ids":[256],"tokens":["<s>"]},
                        "</s>":{"id":"</s>","ids":[257],"tokens":["</s>"]}}})";
  auto tok = MustLoad(ByteLevelJson({"<s>", "</s>"}, "[]", added, post));
  ASSERT_TRUE(tok);
  EXPECT_THAT(tok->Encode("x", true), ElementsAre(256, 'x', 257));
  EXPECT_THAT(tok->Encode("x", false), ElementsAre('x'));
  EXPECT_EQ(tok->bos_id(), 256);
  EXPECT_EQ(tok->eos_id(), 257);

  // No post-processor: tokenizer_config.json's add_bos_token decides.
  auto plain = MustLoad(ByteLevelJson({"<s>", "</s>"}, "[]", added),
                        R"({"bos_token":"<s>","eos_token":{"content":"</s>"},"add_bos_token":true,
                            "model_max_length":2048})");
  ASSERT_TRUE(plain);
  EXPECT_THAT(plain->Encode("x", true), ElementsAre(256, 'x'));
  EXPECT_EQ(plain->model_max_length(), 2048);
}

TEST(TokenizerTest, SentencePieceMetaspacePreTokenizer) {
  const std::string json = R"({"added_tokens":[{"id":0,"content":"<unk>","special":true}],
    "normalizer":null,
    "pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},
    "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
      {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
    "model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"fuse_unk":true,
      "vocab":{"<unk>":0,"<0xE2>":1,"<0x82>":2,"<0xAC>":3,"▁":4,"h":5,"i":6,"▁h":7,"▁hi":8},
      "merges":["▁ h","▁h i"]}})";
  auto tok = MustLoad(json);
  ASSERT_TRUE(tok);
  EXPECT_THAT(tok->Encode("hi hi"), ElementsAre(8, 8));
  EXPECT_THAT(tok->Encode("hi\u20ac"), ElementsAre(8, 1, 2, 3));  // € via byte fallback
  EXPECT_THAT(tok->Encode("hiq"), ElementsAre(8, 0));              // unknown, no byte tokens
  EXPECT_EQ(tok->Decode(tok->Encode("hi hi\u20ac")), "hi hi\u20ac");
  // An ill-formed byte run decodes to one U+FFFD per byte, as HF's ByteFallback does.
  const std::vector<int32_t> broken = {8, 1, 2};
  EXPECT_EQ(tok->Decode(broken), "hi\uFFFD\uFFFD");
}

TEST(TokenizerTest, RoundTripsMixedText) {
  auto kjv = Tokenizer::Load(SourceDir() / "models/kjv-small");
  auto sp = Tokenizer::Load(SourceDir() / "tests/golden/tokenizer/sp-bpe");
  ASSERT_TRUE(kjv.ok()) << kjv.status().ToString();
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  const std::vector<std::string> texts = {
      "In the beginning God created the heaven and the earth.",
      "caf\u00e9 na\u0131\u0308ve \u00c5ngstr\u00f6m e\u0301",
      "\u4e2d\u6587\u5b57\u7b26 \ud55c\uad6d\uc5b4 \u0939\u093f\u0928\u094d\u0926\u0940",
      "emoji \U0001F600\U0001F469\u200D\U0001F469\u200D\U0001F467 \U0001F1FA\U0001F1F8 "
      "\U0001F44D\U0001F3FD",
      "  leading and trailing spaces   ",
      "tabs\tand\t\tnewlines\n\n\r\nend",
      "digits 0123456789 3.14159 1,000,000",
      "\u00a0nbsp\u3000ideographic\u200bzero-width",
      "",
      "x",
  };
  for (const auto& t : texts) {
    EXPECT_EQ((*kjv)->Decode((*kjv)->Encode(t)), t) << t;
    EXPECT_EQ((*sp)->Decode((*sp)->Encode(t)), t) << t;
  }
}

TEST(TokenizerTest, ConcurrentEncodesAgree) {
  auto tok = Tokenizer::Load(SourceDir() / "models/kjv-small");
  ASSERT_TRUE(tok.ok());
  const std::string text = "And the evening and the morning were the first day. 1234 \u00e9\u00e9";
  const auto expected = (*tok)->Encode(text);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if ((*tok)->Encode(text + std::to_string(i % 7)).size() < expected.size()) ++mismatches[t];
        if ((*tok)->Encode(text) != expected) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

TEST(TokenizerTest, MalformedFilesAreErrors) {
  struct Case {
    std::string json;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {"[]", "not a JSON object"},
      {"{}", "'model'"},
      {R"({"model":{"type":"Unigram","vocab":[]}})", "type 'Unigram' is not supported"},
      {R"({"model":{"type":"BPE","vocab":[1,2]}})", "'vocab' must be an object"},
      {R"({"model":{"type":"BPE","vocab":{"a":-1}}})", "vocab entry 'a' has an invalid id"},
      {R"({"model":{"type":"BPE","vocab":{"a":0,"b":0}}})", "id 0 is used by both"},
      {R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a"]}})", "merge 0"},
      {R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}})", "not in the vocab"},
      {R"({"model":{"type":"BPE","vocab":{"a":0},"unk_token":"<unk>"}})", "unk_token '<unk>'"},
      {R"({"model":{"type":"BPE","vocab":{}},"normalizer":{"type":"BertNormalizer"}})",
       "normalizer type 'BertNormalizer'"},
      {R"({"model":{"type":"BPE","vocab":{}},"pre_tokenizer":{"type":"Split",
          "pattern":{"Regex":"\\w+"},"behavior":"Isolated"}})",
       "regex '\\w+' is not one of the known"},
      {R"({"model":{"type":"BPE","vocab":{}},"pre_tokenizer":{"type":"Nope"}})",
       "pre_tokenizer type 'Nope'"},
      {R"({"model":{"type":"BPE","vocab":{}},"decoder":{"type":"CTC"}})", "decoder type 'CTC'"},
      {R"({"model":{"type":"BPE","vocab":{}},"added_tokens":[{"id":1}]})", "added_tokens"},
      {R"({"model":{"type":"BPE","vocab":{}},"post_processor":{"type":"TemplateProcessing",
          "single":[{"SpecialToken":{"id":"<s>"}}]}})",
       "special token '<s>' has no ids"},
  };
  for (const auto& c : cases) {
    auto tok = Tokenizer::FromJson(c.json);
    ASSERT_FALSE(tok.ok()) << c.json;
    EXPECT_THAT(tok.status().message(), HasSubstr(c.expect)) << c.json;
  }
  const std::string ok = R"({"model":{"type":"BPE","vocab":{"a":0}}})";
  auto bad_config = Tokenizer::FromJson(ok, "{oops");
  EXPECT_THAT(bad_config.status().message(), HasSubstr("tokenizer_config.json is not valid JSON"));
  auto bad_template = Tokenizer::FromJson(ok, R"({"chat_template": 5})");
  EXPECT_THAT(bad_template.status().message(), HasSubstr("chat_template"));
  auto missing = Tokenizer::Load("/nonexistent/dir");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace inferline::engine

namespace inferline::engine {
namespace {

TEST(TokenizerTest, ShippedModelTokenizerConfig) {
  auto tok = Tokenizer::Load(SourceDir() / "models/kjv-small");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->bos_id(), 4095);
  EXPECT_EQ((*tok)->eos_id(), 4095);
  EXPECT_EQ((*tok)->model_max_length(), 256);
  EXPECT_EQ((*tok)->Encode("light", true), (*tok)->Encode("light", false));  // add_bos_token false
  const std::vector<Tokenizer::ChatMessage> msgs = {{"user", "Who made light?"}};
  auto prompt = (*tok)->ApplyChatTemplate(msgs, true);
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  EXPECT_EQ(*prompt, "User: Who made light?\nAssistant:");
}

}  // namespace
}  // namespace inferline::engine

namespace inferline::engine {
namespace {

// A character-level BPE over a small vocab with the given pre_tokenizer JSON; pieces are
// observable through the ids because no merges exist.
std::vector<std::string> Pieces(const std::string& pre_tokenizer, std::string_view text) {
  const std::string json = R"({"pre_tokenizer":)" + pre_tokenizer + R"(,
    "model":{"type":"BPE","vocab":{"a":0,"b":1,"1":2,"2":3,"3":4,"!":5," ":6,"▁":7,"ab":8,
      "12":9,"▁a":10},"merges":["a b","1 2","▁ a"]}})";
  auto tok = Tokenizer::FromJson(json);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  if (!tok.ok()) return {};
  std::vector<std::string> out;
  for (int32_t id : (*tok)->Encode(text)) out.push_back((*tok)->TokenToPiece(id));
  return out;
}

TEST(TokenizerTest, SimplePreTokenizers) {
  // "12" merges only when the digits stay in one piece.
  EXPECT_THAT(Pieces(R"({"type":"Digits","individual_digits":true})", "123ab"),
              ElementsAre("1", "2", "3", "ab"));
  EXPECT_THAT(Pieces(R"({"type":"Digits","individual_digits":false})", "123ab"),
              ElementsAre("12", "3", "ab"));
  EXPECT_THAT(Pieces(R"({"type":"Punctuation"})", "ab!!ab"), ElementsAre("ab", "!", "!", "ab"));
  EXPECT_THAT(Pieces(R"({"type":"Whitespace"})", "ab  12!!"), ElementsAre("ab", "12", "!", "!"));
  EXPECT_THAT(Pieces(R"({"type":"WhitespaceSplit"})", " ab  a!b "), ElementsAre("ab", "a", "!", "b"));
  EXPECT_THAT(Pieces(R"({"type":"Split","pattern":{"String":"b"},"behavior":"MergedWithPrevious"})",
                     "abab"),
              ElementsAre("ab", "ab"));
  EXPECT_THAT(Pieces(R"({"type":"Split","pattern":{"String":"a"},"behavior":"Removed"})", "abab"),
              ElementsAre("b", "b"));
  // Metaspace with split: every "▁" starts a piece; consecutive ones stay apart.
  EXPECT_THAT(Pieces(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always"})", "a  a"),
              ElementsAre("▁a", "▁", "▁a"));
  EXPECT_THAT(Pieces(R"({"type":"Sequence","pretokenizers":[{"type":"Digits",
                       "individual_digits":true},{"type":"Punctuation"}]})",
                     "12!"),
              ElementsAre("1", "2", "!"));
}

}  // namespace
}  // namespace inferline::engine
