#include "hub/downloader.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "hub/digest.h"
#include "hub/part_file.h"

namespace inferline::hub {

namespace fs = std::filesystem;

namespace {

struct ContentRange {
  uint64_t first = 0;
  std::optional<uint64_t> total;  // absent for "bytes a-b/*"
};

std::optional<uint64_t> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// "bytes 100-199/200"
std::optional<ContentRange> ParseContentRange(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  size_t dash = v.find('-');
  size_t slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  ContentRange r;
  auto first = ParseNumber(v.substr(0, dash));
  if (!first) return std::nullopt;
  r.first = *first;
  std::string_view total = v.substr(slash + 1);
  if (total != "*") {
    r.total = ParseNumber(total);
    if (!r.total) return std::nullopt;
  }
  return r;
}

void RemoveQuietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

}  // namespace

// The state of one file's download across attempts. `sha` always covers bytes [0, hashed) of
// the part file, so a resume hashes only what is new.
struct FileDownloader::Transfer {
  const DownloadJob& job;
  fs::path part;
  std::optional<uint64_t> expected_size;
  std::string expected_sha256;
  Digest sha{Digest::Kind::kSha256};
  uint64_t hashed = 0;
  DownloadStats stats;
};

void FileDownloader::Note(const std::string& message) {
  if (progress_ != nullptr) progress_->Note(message);
}

Status FileDownloader::Attempt(Transfer& t) {
  const std::string& name = t.job.file.path;
  uint64_t offset = FileSizeOrZero(t.part);
  if (t.expected_size && offset > *t.expected_size) {
    RemoveQuietly(t.part);
    offset = 0;
  }
  if (t.hashed != offset) {
    t.sha.Reset();
    t.hashed = 0;
    if (offset > 0) RETURN_IF_ERROR(HashFilePrefix(t.part, offset, t.sha));
    t.hashed = offset;
  }
  ASSIGN_OR_RETURN(PartFile out, PartFile::Open(t.part));
  if (t.expected_size && offset == *t.expected_size) return out.Close();

  Headers headers;
  if (offset > 0) headers.emplace_back("Range", fmt::format("bytes={}-", offset));
  FileHeaders seen;
  ResponseHead final_head;
  std::string error_body;
  bool accepting = false;

  auto on_head = [&](const ResponseHead& head) -> Status {
    final_head = head;
    if (head.status >= 300) return Status::Ok();
    if (head.status != 200 && head.status != 206) {
      return FailedPrecondition(
          fmt::format("unexpected answer {} for {}", head.status, t.job.url.ToString()));
    }
    if (!t.expected_size && seen.linked_size) t.expected_size = seen.linked_size;
    if (t.expected_sha256.empty() && seen.etag_is_linked && IsHexDigest(seen.etag, 64)) {
      t.expected_sha256 = seen.etag;
    }
    std::optional<uint64_t> full;
    if (head.status == 206) {
      std::optional<ContentRange> range = ParseContentRange(head.Header("Content-Range"));
      if (!range || range->first != offset) {
        RETURN_IF_ERROR(out.Truncate());
        t.sha.Reset();
        t.hashed = 0;
        return Unavailable(fmt::format("the server sent another byte range of {} than asked for "
                                       "(\"{}\"); starting it over",
                                       name, head.Header("Content-Range")));
      }
      full = range->total;
    } else {
      if (offset > 0) {
        Note(fmt::format("{}: the server ignored the range request; downloading it from the start",
                         name));
        RETURN_IF_ERROR(out.Truncate());
        t.sha.Reset();
        t.hashed = 0;
        offset = 0;
        ++t.stats.restarts;
      }
      full = head.content_length;
    }
    if (full && t.expected_size && *full != *t.expected_size) {
      return DataLoss(fmt::format("{} should have {} bytes but the server sends {}", name,
                                  *t.expected_size, *full));
    }
    if (!t.expected_size) t.expected_size = full;
    if (progress_ != nullptr) progress_->FileStarted(name, t.expected_size.value_or(0), offset);
    accepting = true;
    return Status::Ok();
  };
  auto on_body = [&](std::string_view chunk) -> Status {
    if (!accepting) {
      if (error_body.size() < 4096) error_body.append(chunk.substr(0, 4096 - error_body.size()));
      return Status::Ok();
    }
    if (t.expected_size && t.hashed + chunk.size() > *t.expected_size) {
      return DataLoss(fmt::format("the server sent more than the {} bytes of {}",
                                  *t.expected_size, name));
    }
    RETURN_IF_ERROR(out.Append(chunk));
    t.sha.Update(chunk);
    t.hashed += chunk.size();
    t.stats.transferred += chunk.size();
    if (progress_ != nullptr) progress_->FileAdvanced(t.hashed);
    return Status::Ok();
  };

  Status st = client_.Get(t.job.url, headers, &seen, on_head, on_body);
  Status closed = out.Close();
  if (!st.ok()) return st;
  RETURN_IF_ERROR(closed);
  if (final_head.status == 416) {
    // The partial file is no prefix of what the server has: start over.
    RemoveQuietly(t.part);
    t.sha.Reset();
    t.hashed = 0;
    return Unavailable(fmt::format("the server refused to resume {} (416); starting it over", name));
  }
  if (final_head.status >= 300) {
    ErrorContext context = context_;
    context.file = name;
    context.host = t.job.url.host;
    return ErrorForResponse(final_head, error_body, context);
  }
  return Status::Ok();
}

Status FileDownloader::Verify(Transfer& t) {
  const std::string& name = t.job.file.path;
  uint64_t size = FileSizeOrZero(t.part);
  if (t.expected_size && size < *t.expected_size) {
    return Unavailable(fmt::format("{} ended after {} of {} bytes", name, size, *t.expected_size));
  }
  if (t.expected_size && size > *t.expected_size) {
    return DataLoss(fmt::format("{} has {} bytes, more than the {} expected", name, size,
                                *t.expected_size));
  }
  if (!t.expected_sha256.empty()) {
    if (t.hashed != size) {
      t.sha.Reset();
      t.hashed = 0;
      RETURN_IF_ERROR(HashFilePrefix(t.part, size, t.sha));
      t.hashed = size;
    }
    std::string got = t.sha.FinishHex();
    if (got != t.expected_sha256) {
      return DataLoss(fmt::format(
          "sha256 mismatch for {}: expected {}, got {}; the download was corrupted and has been "
          "deleted, run the same command again",
          name, t.expected_sha256, got));
    }
  } else if (!t.job.file.blob_id.empty()) {
    ASSIGN_OR_RETURN(std::string got, GitBlobIdOfFile(t.part));
    if (got != t.job.file.blob_id) {
      return DataLoss(fmt::format(
          "git blob id mismatch for {}: expected {}, got {}; the download was corrupted and has "
          "been deleted, run the same command again",
          name, t.job.file.blob_id, got));
    }
  }
  t.stats.size = size;
  return Status::Ok();
}

Result<DownloadStats> FileDownloader::Download(const DownloadJob& job) {
  Transfer t{job, job.dest, job.file.size, job.file.sha256};
  t.part += ".incomplete";
  std::error_code ec;
  fs::create_directories(t.part.parent_path(), ec);
  if (ec) {
    return PermissionDenied(
        fmt::format("cannot create {}: {}", t.part.parent_path().string(), ec.message()));
  }
  t.stats.resumed_from = FileSizeOrZero(t.part);
  const RetryPolicy& retry = client_.options().retry;
  for (int attempt = 1;; ++attempt) {
    t.stats.attempts = attempt;
    Status st = Attempt(t);
    if (st.ok()) st = Verify(t);
    if (st.ok()) break;
    if (st.code() == StatusCode::kDataLoss) {
      RemoveQuietly(t.part);
      return st;
    }
    if (!IsRetryable(st) || attempt >= retry.attempts) {
      uint64_t kept = FileSizeOrZero(t.part);
      if (IsRetryable(st) && kept > 0) {
        return Status(st.code(), fmt::format("{}; {} of {} kept in {}: run the same command "
                                             "again to resume",
                                             st.message(), FormatBytes(kept), job.file.path,
                                             t.part.filename().string()));
      }
      return st;
    }
    Note(fmt::format("{}; retrying in {:.1f} s (attempt {} of {})", st.message(),
                     static_cast<double>(retry.Backoff(attempt).count()) / 1000.0, attempt + 1,
                     retry.attempts));
    retry.Wait(attempt);
  }
  fs::rename(t.part, job.dest, ec);
  if (ec) {
    return Internal(fmt::format("cannot rename {} to {}: {}", t.part.string(),
                                job.dest.string(), ec.message()));
  }
  return t.stats;
}

Result<bool> FileDownloader::MatchesListing(const RepoFile& f, const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  uint64_t size = fs::file_size(path, ec);
  if (ec || (f.size && *f.size != size)) return false;
  if (!f.sha256.empty()) {
    ASSIGN_OR_RETURN(std::string got, Sha256OfFile(path));
    return got == f.sha256;
  }
  if (!f.blob_id.empty()) {
    ASSIGN_OR_RETURN(std::string got, GitBlobIdOfFile(path));
    return got == f.blob_id;
  }
  return false;
}

}  // namespace inferline::hub
