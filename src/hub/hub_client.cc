#include "hub/hub_client.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <thread>

#include "hub/digest.h"

namespace inferline::hub {

namespace json = boost::json;

namespace {

constexpr size_t kMaxApiBytes = 64 * 1024 * 1024;  // the file list of a huge dataset-like repo

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

void Collect(const ResponseHead& head, FileHeaders* seen) {
  if (seen->commit.empty()) seen->commit = std::string(head.Header("X-Repo-Commit"));
  std::string_view linked = head.Header("X-Linked-Etag");
  if (!linked.empty() && !seen->etag_is_linked) {
    seen->etag = NormalizeEtag(linked);
    seen->etag_is_linked = true;
  } else if (seen->etag.empty() && !head.Header("ETag").empty()) {
    seen->etag = NormalizeEtag(head.Header("ETag"));
  }
  if (!seen->linked_size) seen->linked_size = ParseSize(head.Header("X-Linked-Size"));
}

std::optional<uint64_t> JsonSize(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return std::nullopt;
}

std::string JsonString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool IsRepoNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.';
}

Status ValidateRepoPart(std::string_view part, std::string_view repo) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("'{}' is not a model id (OWNER/NAME): {}", repo, why),
                           "repo");
  };
  if (part.empty()) return bad("an empty part");
  if (part.size() > 96) return bad("a part longer than 96 characters");
  for (char c : part) {
    if (!IsRepoNameChar(c)) return bad(fmt::format("the character '{}' is not allowed", c));
  }
  if (part.find("..") != std::string_view::npos || part.find("--") != std::string_view::npos) {
    return bad("'..' and '--' are not allowed");
  }
  if (part.front() == '.' || part.front() == '-' || part.back() == '.' || part.back() == '-') {
    return bad("a part may not start or end with '.' or '-'");
  }
  return Status::Ok();
}

}  // namespace

std::chrono::milliseconds RetryPolicy::Backoff(int attempt) const {
  std::chrono::milliseconds wait = initial_backoff;
  for (int i = 1; i < attempt && wait < max_backoff; ++i) wait *= 2;
  return std::min(wait, max_backoff);
}

void RetryPolicy::Wait(int attempt) const {
  std::chrono::milliseconds wait = Backoff(attempt);
  if (sleep) {
    sleep(wait);
  } else {
    std::this_thread::sleep_for(wait);
  }
}

const RepoFile* RevisionInfo::Find(std::string_view path) const {
  for (const RepoFile& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

Status ValidateRepoId(std::string_view repo) {
  size_t slash = repo.find('/');
  if (slash == std::string_view::npos) return ValidateRepoPart(repo, repo);
  if (repo.find('/', slash + 1) != std::string_view::npos) {
    return InvalidArgument(
        fmt::format("'{}' is not a model id: expected OWNER/NAME with one '/'", repo), "repo");
  }
  RETURN_IF_ERROR(ValidateRepoPart(repo.substr(0, slash), repo));
  return ValidateRepoPart(repo.substr(slash + 1), repo);
}

std::string_view RepoName(std::string_view repo) {
  size_t slash = repo.rfind('/');
  return slash == std::string_view::npos ? repo : repo.substr(slash + 1);
}

bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.size() > 1024 || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view seg =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

Result<RevisionInfo> ParseRevisionInfo(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) {
    return DataLoss("the Hub's file list is not a JSON object");
  }
  const json::object& obj = root.as_object();
  RevisionInfo info;
  info.commit = JsonString(obj, "sha");
  if (info.commit.empty()) return DataLoss("the Hub's file list has no commit \"sha\"");
  const json::value* siblings = obj.if_contains("siblings");
  if (siblings == nullptr || !siblings->is_array()) {
    return DataLoss("the Hub's file list has no \"siblings\" array");
  }
  for (const json::value& s : siblings->as_array()) {
    if (!s.is_object()) return DataLoss("an entry of the Hub's \"siblings\" is not an object");
    const json::object& so = s.as_object();
    RepoFile f;
    f.path = JsonString(so, "rfilename");
    // A name that would escape the target folder can never be selected, so it is dropped.
    if (!IsSafeRelativePath(f.path)) continue;
    f.size = JsonSize(so.if_contains("size"));
    f.blob_id = NormalizeEtag(JsonString(so, "blobId"));
    if (!IsHexDigest(f.blob_id, 40)) f.blob_id.clear();
    if (const json::value* lfs = so.if_contains("lfs"); lfs != nullptr && lfs->is_object()) {
      f.sha256 = NormalizeEtag(JsonString(lfs->as_object(), "sha256"));
      if (!IsHexDigest(f.sha256, 64)) f.sha256.clear();
      if (auto size = JsonSize(lfs->as_object().if_contains("size"))) f.size = size;
    }
    info.files.push_back(std::move(f));
  }
  return info;
}

Result<HubClient> HubClient::Create(HubClientOptions options) {
  Result<Url> endpoint = ParseUrl(options.endpoint);
  if (!endpoint.ok()) return endpoint.status().Annotate("endpoint");
  Url url = std::move(endpoint).value();
  if (url.target.find('?') != std::string::npos) {
    return InvalidArgument(fmt::format("endpoint \"{}\" has a query", options.endpoint),
                           "endpoint");
  }
  while (!url.target.empty() && url.target.back() == '/') url.target.pop_back();
  if (options.retry.attempts < 1) options.retry.attempts = 1;
  return HubClient(std::move(options), std::move(url));
}

Url HubClient::ResolveUrl(std::string_view repo, std::string_view commit,
                          std::string_view path) const {
  Url url = endpoint_;
  url.target = fmt::format("{}/{}/resolve/{}/{}", endpoint_.target, EncodePath(repo),
                           EncodeSegment(commit), EncodePath(path));
  return url;
}

std::string HubClient::PageUrl(std::string_view repo) const {
  return fmt::format("{}{}/{}", endpoint_.Origin(), endpoint_.target, repo);
}

Status HubClient::Get(const Url& start, const Headers& headers, FileHeaders* seen,
                      const HeadCallback& on_head, const BodyCallback& on_body) const {
  Url url = start;
  for (int hop = 0;; ++hop) {
    Headers h = headers;
    if (!options_.token.empty() && url.Origin() == endpoint_.Origin()) {
      h.emplace_back("Authorization", "Bearer " + options_.token);
    }
    std::optional<std::string> location;
    Status st = Fetch(
        url, h, options_.transport,
        [&](const ResponseHead& head) -> Status {
          if (seen != nullptr) Collect(head, seen);
          if (IsRedirect(head.status) && !head.Header("Location").empty()) {
            location = std::string(head.Header("Location"));
            return Status::Ok();
          }
          return on_head(head);
        },
        [&](std::string_view chunk) -> Status {
          return location ? Status::Ok() : on_body(chunk);
        });
    if (!st.ok() || !location) return st;
    if (hop >= options_.max_redirects) {
      return FailedPrecondition(
          fmt::format("more than {} redirects from {}", options_.max_redirects, start.ToString()));
    }
    Result<Url> next = ResolveLocation(url, *location);
    if (!next.ok()) return next.status();
    url = std::move(next).value();
  }
}

Result<RevisionInfo> HubClient::GetRevision(std::string_view repo,
                                            std::string_view revision) const {
  RETURN_IF_ERROR(ValidateRepoId(repo));
  if (revision.empty()) return InvalidArgument("the revision is empty", "revision");
  Url url = endpoint_;
  url.target = fmt::format("{}/api/models/{}/revision/{}?blobs=true", endpoint_.target,
                           EncodePath(repo), EncodeSegment(revision));
  ErrorContext context{std::string(repo), std::string(revision), "", endpoint_.host,
                       PageUrl(repo), !options_.token.empty()};
  for (int attempt = 1;; ++attempt) {
    ResponseHead final_head;
    std::string body;
    Status st = Get(
        url, {{"Accept", "application/json"}}, nullptr,
        [&](const ResponseHead& head) {
          final_head = head;
          return Status::Ok();
        },
        [&](std::string_view chunk) {
          if (body.size() + chunk.size() > kMaxApiBytes) {
            return ResourceExhausted("the Hub's file list is larger than 64 MiB");
          }
          body.append(chunk);
          return Status::Ok();
        });
    if (st.ok() && final_head.status >= 300) {
      st = ErrorForResponse(final_head, body, context);
    }
    if (st.ok()) {
      Result<RevisionInfo> info = ParseRevisionInfo(body);
      if (!info.ok()) return info.status().Annotate(fmt::format("listing '{}'", repo));
      return info;
    }
    if (!IsRetryable(st) || attempt >= options_.retry.attempts) return st;
    if (options_.retry.notify) {
      options_.retry.notify(fmt::format(
          "{}; retrying in {:.1f} s (attempt {} of {})", st.message(),
          static_cast<double>(options_.retry.Backoff(attempt).count()) / 1000.0, attempt + 1,
          options_.retry.attempts));
    }
    options_.retry.Wait(attempt);
  }
}

}  // namespace inferline::hub
