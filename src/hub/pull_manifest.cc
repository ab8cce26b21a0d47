#include "hub/pull_manifest.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "common/json_value.h"

namespace inferline::hub {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Size and mtime of a regular file, or false.
bool Stat(const fs::path& p, uint64_t* size, int64_t* mtime_ns) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return false;
  *size = fs::file_size(p, ec);
  if (ec) return false;
  auto t = fs::last_write_time(p, ec);
  if (ec) return false;
  *mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return true;
}

}  // namespace

std::string ExpectedDigest(const RepoFile& f) {
  if (!f.sha256.empty()) return "sha256:" + f.sha256;
  if (!f.blob_id.empty()) return "git-blob:" + f.blob_id;
  return "";
}

PullManifest PullManifest::Load(const fs::path& dir) {
  PullManifest m;
  m.file_ = dir / kManifestFile;
  std::ifstream in(m.file_);
  if (!in) return m;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(ss.str(), ec);
  if (ec || !root.is_object()) return m;
  const json::value* files = root.as_object().if_contains("files");
  if (files == nullptr || !files->is_object()) return m;
  for (const auto& [path, v] : files->as_object()) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    Entry e;
    const json::value* size = o.if_contains("size");
    const json::value* mtime = o.if_contains("mtime_ns");
    const json::value* digest = o.if_contains("digest");
    const json::value* commit = o.if_contains("commit");
    if (size == nullptr || !size->is_number() || mtime == nullptr || !mtime->is_int64() ||
        digest == nullptr || !digest->is_string() || commit == nullptr || !commit->is_string()) {
      continue;
    }
    boost::system::error_code conv;
    e.size = size->to_number<uint64_t>(conv);
    if (conv) continue;
    e.mtime_ns = mtime->as_int64();
    e.digest = std::string(digest->as_string());
    e.commit = std::string(commit->as_string());
    m.entries_[std::string(path)] = std::move(e);
  }
  return m;
}

bool PullManifest::IsVerified(const RepoFile& f, const fs::path& on_disk,
                              std::string_view commit) const {
  auto it = entries_.find(f.path);
  if (it == entries_.end()) return false;
  uint64_t size = 0;
  int64_t mtime = 0;
  if (!Stat(on_disk, &size, &mtime)) return false;
  const Entry& e = it->second;
  if (e.size != size || e.mtime_ns != mtime) return false;
  if (f.size && *f.size != size) return false;
  std::string expected = ExpectedDigest(f);
  return expected.empty() ? e.commit == commit : e.digest == expected;
}

void PullManifest::Record(const RepoFile& f, const fs::path& on_disk, std::string_view commit) {
  Entry e;
  if (!Stat(on_disk, &e.size, &e.mtime_ns)) return;
  e.digest = ExpectedDigest(f);
  e.commit = std::string(commit);
  entries_[f.path] = std::move(e);
}

Status PullManifest::Save() const {
  json::object files;
  for (const auto& [path, e] : entries_) {
    files[path] = json::object{{"size", e.size},
                               {"mtime_ns", e.mtime_ns},
                               {"digest", e.digest},
                               {"commit", e.commit}};
  }
  json::object root{{"files", std::move(files)}};
  fs::path tmp = file_;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << SerializeJson(root) << "\n";
    out.close();
    if (!out) return ResourceExhausted(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, file_, ec);
  if (ec) return Internal(fmt::format("cannot rename {}: {}", tmp.string(), ec.message()));
  return Status::Ok();
}

}  // namespace inferline::hub
