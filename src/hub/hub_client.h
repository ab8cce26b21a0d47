// HubClient: the Hugging Face Hub's HTTP API as a pull needs it: the file list of a revision,
// and GETs that follow the Hub's redirects.
//
//   GET {endpoint}/api/models/{owner}/{name}/revision/{revision}?blobs=true
//     -> {"sha": commit, "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256","size"}}]}
//   GET {endpoint}/{owner}/{name}/resolve/{commit}/{path}
//     -> the file, or (LFS) a 302 to a CDN on another host, carrying X-Linked-Etag (the
//        sha256), X-Linked-Size and X-Repo-Commit.
//
// The endpoint may carry a path prefix (mirrors such as https://host/hf). The token goes only to
// the endpoint's origin, never to the CDN a redirect points to (its URL is signed).
//
// Thread-safety: const methods may be called from several threads; each call blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "hub/hub_errors.h"
#include "hub/transport.h"
#include "hub/url.h"

namespace inferline::hub {

inline constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";

struct RetryPolicy {
  int attempts = 6;  // tries per request, the first included
  std::chrono::milliseconds initial_backoff{1'000};
  std::chrono::milliseconds max_backoff{30'000};
  // How a wait happens; tests replace it.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Told about each retry of the file listing (downloads report through their Progress).
  std::function<void(std::string_view)> notify;

  // The wait before attempt `attempt` (1-based retries): initial * 2^(attempt-1), capped.
  std::chrono::milliseconds Backoff(int attempt) const;
  void Wait(int attempt) const;
};

struct RepoFile {
  std::string path;  // repository-relative, '/'-separated
  std::optional<uint64_t> size;
  std::string sha256;   // LFS files: the content's sha256 (lowercase hex)
  std::string blob_id;  // git blob id (sha1 hex) of regular files
  bool lfs() const { return !sha256.empty(); }
};

struct RevisionInfo {
  std::string commit;  // 40-hex commit the revision resolved to
  std::vector<RepoFile> files;
  const RepoFile* Find(std::string_view path) const;
};

// What the Hub said about a file on the way to it (first value seen across redirects).
struct FileHeaders {
  std::string commit;  // X-Repo-Commit
  std::string etag;    // X-Linked-Etag, else ETag, normalized
  bool etag_is_linked = false;          // etag came from X-Linked-Etag
  std::optional<uint64_t> linked_size;  // X-Linked-Size
};

// "owner/name" (or a bare legacy "name"): letters, digits, '-', '_', '.'; no "..".
[[nodiscard]] Status ValidateRepoId(std::string_view repo);
// A repository file path that stays inside the folder it is written to: relative, no "." or
// ".." or empty segments, no backslashes or control characters.
bool IsSafeRelativePath(std::string_view path);
// The part after the '/'.
std::string_view RepoName(std::string_view repo);
// The revision API's JSON; every sibling path is checked with IsSafeRelativePath.
[[nodiscard]] Result<RevisionInfo> ParseRevisionInfo(std::string_view json);

struct HubClientOptions {
  std::string endpoint = std::string(kDefaultEndpoint);
  std::string token;
  TransportOptions transport;
  RetryPolicy retry;
  int max_redirects = 10;
};

class HubClient {
 public:
  [[nodiscard]] static Result<HubClient> Create(HubClientOptions options);

  // Lists a revision's files (with sizes and digests), retrying connection errors and 5xx.
  [[nodiscard]] Result<RevisionInfo> GetRevision(std::string_view repo,
                                                 std::string_view revision) const;

  Url ResolveUrl(std::string_view repo, std::string_view commit, std::string_view path) const;
  std::string PageUrl(std::string_view repo) const;
  // One GET that follows redirects; see transport.h for the callbacks. Error responses (>= 400)
  // reach `on_head` like any other final response. `headers_seen` collects the Hub's headers.
  [[nodiscard]] Status Get(const Url& url, const Headers& headers, FileHeaders* headers_seen,
                           const HeadCallback& on_head, const BodyCallback& on_body) const;

  const HubClientOptions& options() const { return options_; }
  const Url& endpoint() const { return endpoint_; }

 private:
  HubClient(HubClientOptions options, Url endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  HubClientOptions options_;
  Url endpoint_;  // target holds the path prefix without a trailing '/'
};

}  // namespace inferline::hub
