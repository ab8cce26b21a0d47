// Every reference encoding in tests/golden/tokenizer/ must be reproduced exactly.
#include <cstdlib>
#include <filesystem>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/io/mapped_file.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {
namespace {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("INFERLINE_SOURCE_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

std::vector<int32_t> Ids(const boost::json::value& v) {
  std::vector<int32_t> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<int32_t>(x.as_int64()));
  return out;
}

struct Golden {
  std::unique_ptr<Tokenizer> tok;
  boost::json::value cases;
};

Golden LoadGolden(const std::string& tokenizer_dir, const std::string& cases_file) {
  Golden g;
  auto tok = Tokenizer::Load(SourceDir() / tokenizer_dir);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  if (tok.ok()) g.tok = std::move(tok).value();
  auto text = ReadTextFile(SourceDir() / cases_file);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (text.ok()) g.cases = boost::json::parse(*text);
  return g;
}

void CheckCases(const Golden& g, bool check_bos, bool decode_keeps_specials) {
  ASSERT_TRUE(g.tok);
  const auto& cases = g.cases.as_object().at("cases").as_array();
  ASSERT_GE(cases.size(), 50u);
  for (const auto& c : cases) {
    const auto& obj = c.as_object();
    const std::string text(obj.at("text").as_string());
    const auto want = Ids(obj.at("ids"));
    EXPECT_EQ(g.tok->Encode(text), want) << "text: " << text;
    if (check_bos) {
      EXPECT_EQ(g.tok->Encode(text, /*add_special_tokens=*/true), Ids(obj.at("ids_with_bos")))
          << "text: " << text;
    }
    const std::string expected_decoded =
        obj.contains("decoded") ? std::string(obj.at("decoded").as_string()) : text;
    EXPECT_EQ(g.tok->Decode(want, !decode_keeps_specials), expected_decoded) << "text: " << text;
    if (obj.contains("tokens")) {
      const auto& tokens = obj.at("tokens").as_array();
      ASSERT_EQ(tokens.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(g.tok->TokenToPiece(want[i]), std::string(tokens[i].as_string()));
      }
    }
  }
}

TEST(GoldenTokenizerTest, KjvByteLevelBpe) {
  Golden g = LoadGolden("models/kjv-small", "tests/golden/tokenizer/kjv-cases.json");
  CheckCases(g, false, true);
}

TEST(GoldenTokenizerTest, Llama3StyleSplit) {
  Golden g = LoadGolden("tests/golden/tokenizer/llama3-style",
                        "tests/golden/tokenizer/llama3-style/cases.json");
  CheckCases(g, false, true);
}

TEST(GoldenTokenizerTest, SentencePieceByteFallback) {
  Golden g = LoadGolden("tests/golden/tokenizer/sp-bpe", "tests/golden/tokenizer/sp-bpe/cases.json");
  CheckCases(g, true, true);
  ASSERT_TRUE(g.tok);
  EXPECT_EQ(g.tok->bos_id(), 1);
  EXPECT_EQ(g.tok->eos_id(), 2);
}

}  // namespace
}  // namespace inferline::engine
