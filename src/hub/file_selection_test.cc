#include "hub/file_selection.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace inferline::hub {
namespace {

RevisionInfo Listing(std::initializer_list<const char*> names) {
  RevisionInfo info;
  info.commit = "c0ffee";
  for (const char* n : names) info.files.push_back(RepoFile{n, 10, "", ""});
  return info;
}

std::vector<std::string> Paths(const Selection& s) {
  std::vector<std::string> out;
  for (const RepoFile& f : s.files) out.push_back(f.path);
  return out;
}

TEST(FileSelectionTest, TakesWhatTheEngineLoadsAndSkipsOtherFormats) {
  auto info = Listing({"README.md", "config.json", "generation_config.json", "model.safetensors",
                       "pytorch_model.bin", "onnx/model.onnx", "tokenizer.json",
                       "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                       "tf_model.h5"});
  auto s = SelectFiles(info, "o/m", {});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Paths(*s), (std::vector<std::string>{"config.json", "tokenizer.json",
                                                 "generation_config.json", "tokenizer_config.json",
                                                 "special_tokens_map.json", "model.safetensors"}));
  EXPECT_FALSE(s->sharded);
}

TEST(FileSelectionTest, ShardedWeightsSelectTheIndex) {
  auto info = Listing({"config.json", "tokenizer.json", "model.safetensors.index.json",
                       "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"});
  auto s = SelectFiles(info, "o/m", {});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->sharded);
  EXPECT_EQ(Paths(*s).back(), "model.safetensors.index.json");
}

TEST(FileSelectionTest, IncludePatternsAddFilesAndReportMisses) {
  auto info = Listing({"config.json", "tokenizer.json", "model.safetensors", "README.md",
                       "docs/a.md", "pytorch_model.bin"});
  auto s = SelectFiles(info, "o/m", {"*.md", "*.gguf", "config.json"});
  ASSERT_TRUE(s.ok());
  auto p = Paths(*s);
  EXPECT_NE(std::find(p.begin(), p.end(), "README.md"), p.end());
  EXPECT_NE(std::find(p.begin(), p.end(), "docs/a.md"), p.end());  // '*' spans folders
  EXPECT_EQ(std::count(p.begin(), p.end(), "config.json"), 1);
  EXPECT_EQ(std::find(p.begin(), p.end(), "pytorch_model.bin"), p.end());
  EXPECT_EQ(s->unmatched_patterns, std::vector<std::string>{"*.gguf"});
}

TEST(FileSelectionTest, MissingPiecesAreNamed) {
  auto no_weights = SelectFiles(Listing({"config.json", "tokenizer.json", "pytorch_model.bin"}),
                                "o/m", {});
  ASSERT_FALSE(no_weights.ok());
  EXPECT_EQ(no_weights.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_weights.status().message().find("pytorch_model.bin"), std::string::npos);
  EXPECT_NE(no_weights.status().message().find(".safetensors only"), std::string::npos);

  auto no_tokenizer =
      SelectFiles(Listing({"config.json", "tokenizer.model", "model.safetensors"}), "o/m", {});
  ASSERT_FALSE(no_tokenizer.ok());
  EXPECT_NE(no_tokenizer.status().message().find("tokenizer.json"), std::string::npos);

  auto no_config = SelectFiles(Listing({"tokenizer.json", "model.safetensors"}), "o/m", {});
  ASSERT_FALSE(no_config.ok());
  EXPECT_NE(no_config.status().message().find("config.json"), std::string::npos);
}

TEST(FileSelectionTest, ShardsFromIndex) {
  auto shards = ShardsFromIndex(R"({"metadata": {"total_size": 10}, "weight_map": {
      "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
      "c": "model-00001-of-00002.safetensors"}})");
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  EXPECT_EQ(*shards, (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                               "model-00002-of-00002.safetensors"}));
  EXPECT_FALSE(ShardsFromIndex("not json").ok());
  EXPECT_FALSE(ShardsFromIndex(R"({"weight_map": {}})").ok());
  EXPECT_FALSE(ShardsFromIndex(R"({"weight_map": {"a": 3}})").ok());
  EXPECT_FALSE(ShardsFromIndex(R"({"weight_map": {"a": "../../etc/x.safetensors"}})").ok());
  EXPECT_FALSE(ShardsFromIndex(R"({"weight_map": {"a": "model.bin"}})").ok());
}

}  // namespace
}  // namespace inferline::hub
