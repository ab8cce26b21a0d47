// FileDownloader: one repository file onto disk, resumable and verified.
//
// The bytes go to "<dest>.incomplete" and the file is renamed into place only once it has the
// expected size and digest, so a folder never holds a half-written file under its real name.
// A partial file left by an earlier attempt (or an earlier run) is continued with
// `Range: bytes=N-`; a 206 appends, a 200 (a server that ignores ranges) starts over, and a
// 416 or a different range discards the partial file. Connection errors, timeouts, 429 and 5xx
// are retried with exponential backoff (RetryPolicy), each retry resuming from what was
// written. Expected size and sha256 come from the file listing, or else from X-Linked-Size /
// X-Linked-Etag / Content-Length; LFS files are checked against their sha256 (hashed while
// streaming) and regular files against their git blob id. A mismatch deletes the file and is
// a DataLoss error; a full disk is ResourceExhausted and keeps the partial file for a resume.
//
// Thread-safety: one FileDownloader per thread; Download blocks.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/status.h"
#include "hub/hub_client.h"
#include "hub/hub_errors.h"
#include "hub/progress.h"

namespace inferline::hub {

struct DownloadJob {
  RepoFile file;  // path, and size / sha256 / blob id when the listing gave them
  Url url;        // the resolve URL
  std::filesystem::path dest;
};

struct DownloadStats {
  uint64_t size = 0;          // final file size
  uint64_t transferred = 0;   // body bytes received in this run
  uint64_t resumed_from = 0;  // bytes of an earlier partial file found at the start
  int attempts = 0;
  int restarts = 0;  // times a partial file was discarded because the server sent it all again
};

class FileDownloader {
 public:
  // `progress` may be null; `context` names the repository in error messages.
  FileDownloader(const HubClient& client, ErrorContext context, Progress* progress)
      : client_(client), context_(std::move(context)), progress_(progress) {}

  [[nodiscard]] Result<DownloadStats> Download(const DownloadJob& job);

  // Whether a file on disk has the size and digest the listing gives (false when the listing
  // has no digest to compare with).
  [[nodiscard]] static Result<bool> MatchesListing(const RepoFile& f,
                                                   const std::filesystem::path& path);

 private:
  struct Transfer;
  [[nodiscard]] Status Attempt(Transfer& t);
  [[nodiscard]] Status Verify(Transfer& t);
  void Note(const std::string& message);

  const HubClient& client_;
  ErrorContext context_;
  Progress* progress_;
};

}  // namespace inferline::hub
