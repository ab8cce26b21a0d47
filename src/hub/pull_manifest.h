// PullManifest: what a previous pull verified in a model folder, so that pulling again skips
// complete files without re-hashing gigabytes.
//
// Stored as <dir>/.inferline-pull.json: per file its size, modification time, the digest it was
// checked against ("sha256:<hex>" for LFS files, "git-blob:<hex>" otherwise) and the commit it
// came from. A file counts as verified only while its size and mtime are unchanged and the
// digest (or, lacking one, the commit) matches what the Hub lists now; anything else is checked
// or downloaded again. A missing or unreadable manifest is an empty one.
//
// Thread-safety: a value owned by one pull.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "hub/hub_client.h"

namespace inferline::hub {

inline constexpr std::string_view kManifestFile = ".inferline-pull.json";

// The digest the Hub lists for `f` in manifest form, or "" when it lists none.
std::string ExpectedDigest(const RepoFile& f);

class PullManifest {
 public:
  static PullManifest Load(const std::filesystem::path& dir);

  bool IsVerified(const RepoFile& f, const std::filesystem::path& on_disk,
                  std::string_view commit) const;
  void Record(const RepoFile& f, const std::filesystem::path& on_disk, std::string_view commit);
  void Forget(const std::string& path) { entries_.erase(path); }
  [[nodiscard]] Status Save() const;

 private:
  struct Entry {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    std::string digest;
    std::string commit;
  };
  std::filesystem::path file_;
  std::map<std::string, Entry> entries_;
};

}  // namespace inferline::hub
