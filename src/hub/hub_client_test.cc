#include "hub/hub_client.h"

#include <gtest/gtest.h>

#include "hub/hub_errors.h"

namespace inferline::hub {
namespace {

TEST(RepoIdTest, AcceptsHubNamesAndRejectsTheRest) {
  EXPECT_TRUE(ValidateRepoId("HuggingFaceTB/SmolLM2-135M-Instruct").ok());
  EXPECT_TRUE(ValidateRepoId("TinyLlama/TinyLlama-1.1B-Chat-v1.0").ok());
  EXPECT_TRUE(ValidateRepoId("gpt2").ok());
  for (const char* bad : {"", "/", "a/", "/b", "a/b/c", "a/../b", "../x", "a b/c", "a/b;rm",
                          "-a/b", "a/b.", "a/b--c"}) {
    Status st = ValidateRepoId(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.param(), "repo") << bad;
  }
  EXPECT_EQ(RepoName("org/model"), "model");
  EXPECT_EQ(RepoName("gpt2"), "gpt2");
}

TEST(RepoIdTest, SafeRelativePaths) {
  EXPECT_TRUE(IsSafeRelativePath("model.safetensors"));
  EXPECT_TRUE(IsSafeRelativePath("sub/dir/file.json"));
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a/", "a\\b",
                          "a\nb"}) {
    EXPECT_FALSE(IsSafeRelativePath(bad)) << bad;
  }
}

TEST(RevisionInfoTest, ParsesTheHubsListing) {
  auto info = ParseRevisionInfo(R"({
    "id": "o/m", "sha": "0123456789abcdef0123456789abcdef01234567",
    "siblings": [
      {"rfilename": "config.json", "size": 12, "blobId": "ce013625030ba8dba906f756967f9e9ca394464a"},
      {"rfilename": "model.safetensors", "size": 999, "blobId": "aa",
       "lfs": {"sha256": "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
               "size": 123456789012, "pointerSize": 135}},
      {"rfilename": "../escape.json", "size": 1},
      {"rfilename": "README.md"}
    ]})");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->commit, "0123456789abcdef0123456789abcdef01234567");
  ASSERT_EQ(info->files.size(), 3u);  // the escaping name is dropped
  const RepoFile* cfg = info->Find("config.json");
  ASSERT_NE(cfg, nullptr);
  EXPECT_FALSE(cfg->lfs());
  EXPECT_EQ(cfg->size, 12u);
  EXPECT_EQ(cfg->blob_id, "ce013625030ba8dba906f756967f9e9ca394464a");
  const RepoFile* w = info->Find("model.safetensors");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->lfs());
  EXPECT_EQ(w->size, 123456789012u);  // the LFS object's size, not the pointer's
  EXPECT_EQ(w->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(info->Find("README.md")->size, std::nullopt);

  EXPECT_FALSE(ParseRevisionInfo("[]").ok());
  EXPECT_FALSE(ParseRevisionInfo(R"({"siblings": []})").ok());
  EXPECT_FALSE(ParseRevisionInfo(R"({"sha": "x"})").ok());
  EXPECT_FALSE(ParseRevisionInfo(R"({"sha": "x", "siblings": [3]})").ok());
}

TEST(HubClientTest, BuildsUrlsUnderTheEndpointAndItsPrefix) {
  HubClientOptions o;
  o.endpoint = "https://mirror.example.com/hf/";
  auto c = HubClient::Create(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->ResolveUrl("o/m", "abc", "sub dir/x.json").ToString(),
            "https://mirror.example.com/hf/o/m/resolve/abc/sub%20dir/x.json");
  EXPECT_EQ(c->PageUrl("o/m"), "https://mirror.example.com/hf/o/m");
  o.endpoint = "huggingface.co";
  EXPECT_FALSE(HubClient::Create(o).ok());
}

TEST(RetryPolicyTest, BackoffDoublesUpToTheCap) {
  RetryPolicy p;
  p.initial_backoff = std::chrono::milliseconds(500);
  p.max_backoff = std::chrono::milliseconds(3000);
  EXPECT_EQ(p.Backoff(1).count(), 500);
  EXPECT_EQ(p.Backoff(2).count(), 1000);
  EXPECT_EQ(p.Backoff(3).count(), 2000);
  EXPECT_EQ(p.Backoff(4).count(), 3000);
  EXPECT_EQ(p.Backoff(40).count(), 3000);
}

ResponseHead Head(int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
  ResponseHead h;
  h.status = status;
  h.headers = std::move(headers);
  return h;
}

TEST(HubErrorsTest, MessagesSayWhatToDo) {
  ErrorContext c{"o/m", "main", "", "huggingface.co", "https://huggingface.co/o/m", false};
  Status nf = ErrorForResponse(Head(404, {{"X-Error-Code", "RepoNotFound"}}), "", c);
  EXPECT_EQ(nf.code(), StatusCode::kNotFound);
  EXPECT_NE(nf.message().find("no such model or revision"), std::string::npos);
  // The Hub hides private repositories from anonymous callers behind a 401 RepoNotFound.
  Status hidden = ErrorForResponse(Head(401, {{"x-error-code", "RepoNotFound"}}), "", c);
  EXPECT_EQ(hidden.code(), StatusCode::kNotFound);
  EXPECT_NE(hidden.message().find("--token"), std::string::npos);

  Status rev = ErrorForResponse(Head(404, {{"X-Error-Code", "RevisionNotFound"}}), "", c);
  EXPECT_NE(rev.message().find("no such revision 'main'"), std::string::npos);

  Status auth = ErrorForResponse(Head(401), "", c);
  EXPECT_EQ(auth.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(auth.message().find("gated or private: pass --token"), std::string::npos);

  Status gated = ErrorForResponse(
      Head(403, {{"X-Error-Code", "GatedRepo"}, {"X-Error-Message", "Access restricted"}}), "", c);
  EXPECT_EQ(gated.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(gated.message().find("https://huggingface.co/o/m"), std::string::npos);
  EXPECT_NE(gated.message().find("Access restricted"), std::string::npos);

  c.have_token = true;
  Status refused = ErrorForResponse(Head(401), "", c);
  EXPECT_NE(refused.message().find("token was refused"), std::string::npos);

  EXPECT_TRUE(IsRetryable(ErrorForResponse(Head(503), "", c)));
  EXPECT_TRUE(IsRetryable(ErrorForResponse(Head(429), "", c)));
  EXPECT_FALSE(IsRetryable(ErrorForResponse(Head(400), "", c)));
  c.file = "x.json";
  Status entry = ErrorForResponse(Head(404), "", c);
  EXPECT_NE(entry.message().find("no such file: 'x.json'"), std::string::npos);
}

}  // namespace
}  // namespace inferline::hub
