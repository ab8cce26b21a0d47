#include "hub/pull.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "hub/downloader.h"
#include "hub/file_selection.h"
#include "hub/part_file.h"
#include "hub/pull_manifest.h"

namespace inferline::hub {

namespace fs = std::filesystem;

namespace {

Result<std::string> ReadSmallFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read {}", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Adds the shards named by the (downloaded) index to the selection.
Status AddShards(const RevisionInfo& info, const fs::path& dir, std::string_view repo,
                 std::vector<RepoFile>* files) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(dir / kWeightsIndexFile));
  ASSIGN_OR_RETURN(std::vector<std::string> shards, ShardsFromIndex(text));
  for (const std::string& shard : shards) {
    const RepoFile* f = info.Find(shard);
    if (f == nullptr) {
      return FailedPrecondition(
          fmt::format("{} of '{}' names the shard {}, which the repository does not have",
                      kWeightsIndexFile, repo, shard));
    }
    files->push_back(*f);
  }
  return Status::Ok();
}

// Fails early, with the numbers, when the files left to fetch cannot fit.
Status CheckFreeSpace(const fs::path& dir, const std::vector<RepoFile>& files,
                      const PullManifest& manifest, std::string_view commit) {
  uint64_t needed = 0;
  for (const RepoFile& f : files) {
    if (!f.size || manifest.IsVerified(f, dir / f.path, commit)) continue;
    fs::path part = dir / f.path;
    part += ".incomplete";
    uint64_t have = FileSizeOrZero(part);
    if (*f.size > have) needed += *f.size - have;
  }
  std::error_code ec;
  fs::space_info space = fs::space(dir, ec);
  if (ec || needed <= space.available) return Status::Ok();
  return ResourceExhausted(fmt::format(
      "not enough disk space in {}: the download needs {} more, {} is free", dir.string(),
      FormatBytes(needed), FormatBytes(space.available)));
}

}  // namespace

fs::path DefaultModelDir(std::string_view repo) {
  return fs::path("models") / std::string(RepoName(repo));
}

Result<PullResult> Pull(const PullOptions& options, Progress* progress) {
  RETURN_IF_ERROR(ValidateRepoId(options.repo));
  HubClientOptions hub_options = options.hub;
  if (progress != nullptr && !hub_options.retry.notify) {
    hub_options.retry.notify = [progress](std::string_view m) { progress->Note(m); };
  }
  ASSIGN_OR_RETURN(HubClient client, HubClient::Create(std::move(hub_options)));
  ASSIGN_OR_RETURN(RevisionInfo info, client.GetRevision(options.repo, options.revision));
  ASSIGN_OR_RETURN(Selection selection, SelectFiles(info, options.repo, options.include));

  PullResult result;
  result.dir = options.dir.empty() ? DefaultModelDir(options.repo) : options.dir;
  result.commit = info.commit;
  for (const std::string& p : selection.unmatched_patterns) {
    result.warnings.push_back(fmt::format("--include '{}' matched no file of '{}'", p,
                                          options.repo));
  }
  std::error_code ec;
  fs::create_directories(result.dir, ec);
  if (ec) {
    return PermissionDenied(
        fmt::format("cannot create the folder {}: {}", result.dir.string(), ec.message()));
  }

  PullManifest manifest = PullManifest::Load(result.dir);
  ErrorContext context{options.repo, options.revision, "", client.endpoint().host,
                       client.PageUrl(options.repo), !options.hub.token.empty()};
  FileDownloader downloader(client, context, progress);

  auto fetch = [&](const RepoFile& f) -> Status {
    fs::path dest = result.dir / f.path;
    PulledFile pulled{f.path, 0, true};
    bool done = manifest.IsVerified(f, dest, info.commit);
    if (!done && fs::exists(dest, ec)) {
      ASSIGN_OR_RETURN(done, FileDownloader::MatchesListing(f, dest));
    }
    if (done) {
      pulled.size = FileSizeOrZero(dest);
    } else {
      DownloadJob job{f, client.ResolveUrl(options.repo, info.commit, f.path), dest};
      ASSIGN_OR_RETURN(DownloadStats stats, downloader.Download(job));
      pulled.size = stats.size;
      pulled.skipped = false;
      result.bytes_downloaded += stats.transferred;
    }
    manifest.Record(f, dest, info.commit);
    Status saved = manifest.Save();
    if (!saved.ok() && progress != nullptr) progress->Note(saved.message());
    if (progress != nullptr) progress->FileFinished(f.path, pulled.size, pulled.skipped);
    result.files.push_back(std::move(pulled));
    return Status::Ok();
  };

  std::vector<RepoFile> files = selection.files;
  if (selection.sharded) {
    // The index says which shards to fetch, so it comes first.
    const RepoFile* index = info.Find(kWeightsIndexFile);
    RETURN_IF_ERROR(fetch(*index));
    std::erase_if(files, [](const RepoFile& f) { return f.path == kWeightsIndexFile; });
    RETURN_IF_ERROR(AddShards(info, result.dir, options.repo, &files));
  }
  RETURN_IF_ERROR(CheckFreeSpace(result.dir, files, manifest, info.commit));
  for (const RepoFile& f : files) RETURN_IF_ERROR(fetch(f));
  return result;
}

}  // namespace inferline::hub
