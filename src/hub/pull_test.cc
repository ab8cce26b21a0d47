// Pulls from a local fake Hub over real sockets: the happy path, skipping, tokens, errors.
#include "hub/pull.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/io/safetensors.h"
#include "hub/digest.h"
#include "hub/model_check.h"
#include "hub/pull_manifest.h"
#include "hub/testing/pull_fixture.h"

namespace inferline::hub {
namespace {

namespace fs = std::filesystem;
using testing::PullFixture;
using testing::ReadFile;
using testing::RecordingProgress;

class PullTest : public PullFixture {};

TEST_F(PullTest, FullPullProducesAFolderThatLoads) {
  RecordingProgress progress;
  auto r = Pull(Options(), &progress);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit, hub_.commit());
  EXPECT_EQ(r->dir, dir_);
  EXPECT_EQ(ReadFile(dir_ / "config.json"), config_);
  EXPECT_EQ(ReadFile(dir_ / "tokenizer.json"), tokenizer_);
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
  EXPECT_TRUE(fs::exists(dir_ / "tokenizer_config.json"));
  EXPECT_TRUE(fs::exists(dir_ / "generation_config.json"));
  EXPECT_FALSE(fs::exists(dir_ / "pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(dir_ / "README.md"));
  EXPECT_FALSE(fs::exists(Part("model.safetensors")));
  EXPECT_TRUE(fs::exists(dir_ / kManifestFile));
  ASSERT_EQ(r->files.size(), 5u);
  for (const PulledFile& f : r->files) EXPECT_FALSE(f.skipped) << f.path;
  EXPECT_GE(r->bytes_downloaded, weights_.size());
  EXPECT_EQ(progress.finished.size(), 5u);

  // Files are fetched at the listed commit, the weights through the CDN redirect.
  auto resolves = hub_.RequestsFor("/resolve/");
  ASSERT_EQ(resolves.size(), 5u);
  for (const auto& req : resolves) {
    EXPECT_NE(req.target.find("/resolve/" + hub_.commit() + "/"), std::string::npos);
  }
  auto cdn = hub_.RequestsFor("/cdn/");
  ASSERT_EQ(cdn.size(), 1u);
  EXPECT_EQ(cdn[0].server, "cdn");

  auto summary = CheckModelFolder(dir_);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->arch, "gpt2");
  EXPECT_EQ(summary->class_name, "GPT2LMHeadModel");
  EXPECT_EQ(summary->dtype, "F32");
  EXPECT_EQ(summary->layers, 2);
  EXPECT_EQ(summary->context, 64);
  EXPECT_EQ(summary->vocab_size, 320);
  EXPECT_GT(summary->parameters, 100'000u);
  EXPECT_EQ(summary->parameters * 4, summary->weight_bytes);
  EXPECT_EQ(summary->tokenizer_vocab, 320);
  EXPECT_TRUE(summary->warnings.empty());
}

TEST_F(PullTest, CheckWarnsWhenTheTokenizerOutgrowsTheModel) {
  ASSERT_TRUE(Pull(Options(), nullptr).ok());
  std::ofstream(dir_ / "tokenizer.json", std::ios::trunc)
      << ReadFile(testing::SourceDir() / "tests/golden/tokenizer/sp-bpe/tokenizer.json");
  auto summary = CheckModelFolder(dir_);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->tokenizer_vocab, 640);
  ASSERT_EQ(summary->warnings.size(), 1u);
  EXPECT_NE(summary->warnings[0].find("the tokenizer has 640 tokens"), std::string::npos);

  fs::remove(dir_ / "config.json");
  auto broken = CheckModelFolder(dir_);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("config.json"), std::string::npos);
}

TEST_F(PullTest, SecondPullIsANoOp) {
  ASSERT_TRUE(Pull(Options(), nullptr).ok());
  auto mtime = fs::last_write_time(dir_ / "model.safetensors");
  hub_.ClearRequests();
  RecordingProgress progress;
  auto r = Pull(Options(), &progress);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const PulledFile& f : r->files) EXPECT_TRUE(f.skipped) << f.path;
  EXPECT_EQ(r->bytes_downloaded, 0u);
  EXPECT_TRUE(progress.started.empty());
  auto requests = hub_.requests();
  ASSERT_EQ(requests.size(), 1u);  // only the file list
  EXPECT_NE(requests[0].target.find("/api/models/"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(dir_ / "model.safetensors"), mtime);
}

TEST_F(PullTest, ExistingFilesAreVerifiedAndBadOnesReplaced) {
  // A folder filled by other means: the right weights, a wrong config, no manifest.
  fs::create_directories(dir_);
  std::ofstream(dir_ / "model.safetensors", std::ios::binary) << weights_;
  std::ofstream(dir_ / "config.json") << "{\"edited\": true}";
  auto r = Pull(Options(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "config.json"), config_);
  EXPECT_TRUE(hub_.RequestsFor("/cdn/").empty());  // the weights matched their sha256
  for (const PulledFile& f : r->files) {
    EXPECT_EQ(f.skipped, f.path == "model.safetensors") << f.path;
  }
}

TEST_F(PullTest, TokenGoesToTheHubButNotToTheCdn) {
  testing::FakeFaults faults;
  faults.required_token = "hf_secret";
  hub_.SetFaults(faults);

  auto denied = Pull(Options(), nullptr);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(denied.status().message().find("gated or private: pass --token"), std::string::npos)
      << denied.status().message();

  PullOptions wrong = Options();
  wrong.hub.token = "hf_wrong";
  auto refused = Pull(wrong, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("token was refused"), std::string::npos);

  hub_.ClearRequests();
  PullOptions o = Options();
  o.hub.token = "hf_secret";
  auto r = Pull(o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& req : hub_.requests()) {
    if (req.server == "hub") {
      EXPECT_EQ(req.authorization, "Bearer hf_secret") << req.target;
    } else {
      EXPECT_EQ(req.authorization, "") << "the token leaked to " << req.target;
    }
  }
  EXPECT_EQ(hub_.RequestsFor("/cdn/").size(), 1u);
}

TEST_F(PullTest, UnknownModelOrRevisionIs404) {
  PullOptions o = Options();
  o.repo = "test-org/no-such-model";
  auto r = Pull(o, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("no such model or revision"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("test-org/no-such-model"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_));  // nothing is created for a model that does not exist

  o = Options();
  o.revision = "v9";
  r = Pull(o, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("no such revision 'v9'"), std::string::npos);

  o = Options();
  o.repo = "not a repo";
  r = Pull(o, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PullTest, GatedModelIs403) {
  testing::FakeFaults faults;
  faults.gated = true;
  hub_.SetFaults(faults);
  auto r = Pull(Options(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("is gated"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(hub_.endpoint() + "/" + hub_.repo()), std::string::npos);
}

TEST_F(PullTest, UnreachableHubIsUnavailable) {
  PullOptions o = Options();
  {
    testing::FakeHub gone;
    o.hub.endpoint = gone.endpoint();
  }  // its port is closed now
  o.hub.retry.attempts = 2;
  auto r = Pull(o, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot reach 127.0.0.1"), std::string::npos)
      << r.status().message();
}

TEST_F(PullTest, RelativeRedirectIsFollowed) {
  testing::FakeFaults faults;
  faults.relative_redirect = true;
  hub_.SetFaults(faults);
  auto r = Pull(Options(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
  auto cdn = hub_.RequestsFor("/cdn/");
  ASSERT_EQ(cdn.size(), 1u);
  EXPECT_EQ(cdn[0].server, "hub");
}

TEST_F(PullTest, IncludeAddsFilesAndWarnsOnMisses) {
  PullOptions o = Options();
  o.include = {"*.md", "*.gguf"};
  auto r = Pull(o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "README.md"), "# tiny");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("*.gguf"), std::string::npos);
}

// A minimal safetensors file of F32 tensors named `names`, each of shape [2].
std::string Safetensors(const std::vector<std::string>& names) {
  std::string header = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    header += (i ? "," : "") + ("\"" + names[i] + "\":{\"dtype\":\"F32\",\"shape\":[2],") +
              "\"data_offsets\":[" + std::to_string(i * 8) + "," + std::to_string(i * 8 + 8) +
              "]}";
  }
  header += "}";
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out += header;
  out += std::string(names.size() * 8, '\0');
  return out;
}

TEST_F(PullTest, ShardedWeightsFetchTheIndexThenEveryShard) {
  testing::FakeHub hub("test-org/sharded");
  hub.AddFile("config.json", config_, false);
  hub.AddFile("tokenizer.json", tokenizer_, false);
  hub.AddFile("model.safetensors.index.json",
              R"({"metadata": {"total_size": 32}, "weight_map": {
                   "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                   "c": "model-00002-of-00002.safetensors"}})",
              false);
  hub.AddFile("model-00001-of-00002.safetensors", Safetensors({"a", "b"}), true);
  hub.AddFile("model-00002-of-00002.safetensors", Safetensors({"c"}), true);
  hub.AddFile("model-00003-of-00002.safetensors", Safetensors({"stray"}), true);
  PullOptions o = Options();
  o.repo = hub.repo();
  o.hub.endpoint = hub.endpoint();
  auto r = Pull(o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->files.size(), 5u);
  EXPECT_EQ(r->files[0].path, "model.safetensors.index.json");
  EXPECT_FALSE(fs::exists(dir_ / "model-00003-of-00002.safetensors"));
  auto weights = engine::WeightFile::OpenFolder(dir_);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  EXPECT_EQ((*weights)->Names(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(PullTest, IndexNamingAMissingShardIsAnError) {
  testing::FakeHub hub("test-org/broken");
  hub.AddFile("config.json", config_, false);
  hub.AddFile("tokenizer.json", tokenizer_, false);
  hub.AddFile("model.safetensors.index.json",
              R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})", false);
  PullOptions o = Options();
  o.repo = hub.repo();
  o.hub.endpoint = hub.endpoint();
  auto r = Pull(o, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model-00001-of-00002.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace inferline::hub
