// FakeHub: a local stand-in for huggingface.co and its LFS CDN, for tests, on 127.0.0.1 with
// ephemeral ports, serving one repository the way the Hub does:
//
//   GET /api/models/{repo}/revision/{rev}[?blobs=true]  file list with sizes and digests
//   GET /{repo}/resolve/{rev}/{path}                     regular files directly (ETag = blob
//       id); LFS files as a 302 to the CDN (another port, so another origin) with X-Linked-Etag,
//       X-Linked-Size and X-Repo-Commit
//   GET /cdn/{sha256}                                    the LFS bytes, honouring Range
//
// and lets a test break it: drop the connection after N bytes, ignore Range, corrupt a byte,
// require a token, answer 403 (gated) or 503, redirect relatively. Every request is logged.
//
// Thread-safety: one io thread serves both ports; the configuration and log are guarded by a
// mutex, so a test may change faults between pulls.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace inferline::hub::testing {

struct FakeRequest {
  std::string server;  // "hub" or "cdn"
  std::string target;
  std::string range;
  std::string authorization;
};

struct FakeFaults {
  // path -> cut the body of that file after this absolute byte offset, `drops` times.
  std::map<std::string, uint64_t> drop_at;
  int drops = 1;
  bool ignore_range = false;
  std::map<std::string, uint64_t> corrupt_at;  // path -> flip the byte at this offset
  std::string required_token;                  // non-empty: 401 without "Bearer <token>"
  bool gated = false;                          // 403 X-Error-Code: GatedRepo
  int unavailable = 0;                         // the next N requests get 503
  bool relative_redirect = false;              // LFS: Location "/cdn/…" on the Hub itself
};

class FakeHub {
 public:
  explicit FakeHub(std::string repo = "test-org/tiny-gpt2");
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  void AddFile(const std::string& path, std::string content, bool lfs);
  void SetFaults(FakeFaults faults);
  // "http://127.0.0.1:<port>"
  std::string endpoint() const;
  const std::string& commit() const { return commit_; }
  const std::string& repo() const { return repo_; }

  std::vector<FakeRequest> requests() const;
  void ClearRequests();
  // Requests whose target contains `needle`.
  std::vector<FakeRequest> RequestsFor(const std::string& needle) const;

  struct Impl;

 private:
  std::string repo_;
  std::string commit_;
  std::unique_ptr<Impl> impl_;
};

// The tiny GPT-2 of tests/golden (F32, vocabulary 320) with the SentencePiece-style test
// tokenizer cut down to the same 320 ids.
struct TinyModel {
  std::string config, weights, tokenizer;
};
// Reads it from `source_dir` (the repository root); empty strings when the files are missing.
TinyModel LoadTinyModel(const std::filesystem::path& source_dir);
// Serves it the way the Hub serves a model: small JSON files as regular git files, the weights
// (and a PyTorch file pulls must skip) as LFS files, plus a README.
void AddTinyModel(FakeHub& hub, const TinyModel& model);

}  // namespace inferline::hub::testing
