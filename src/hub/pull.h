// Pull: a Hub model into a local folder that `inferline generate` and `serve` can load.
//
//   PullOptions o;
//   o.repo = "HuggingFaceTB/SmolLM2-135M-Instruct";
//   Result<PullResult> r = Pull(o, &progress);
//
// Steps: list the revision (pinning its commit, so every file comes from the same commit even
// if the branch moves meanwhile), choose the files (file_selection.h), fetch the shard index
// first when the weights are sharded, check the free disk space, then download each file
// (downloader.h). Files a previous pull verified, or that already match the listed digest, are
// skipped, so pulling twice is cheap and an interrupted pull resumes where it stopped.
//
// Thread-safety: blocks the calling thread; independent pulls into different folders may run
// concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/hub_client.h"
#include "hub/progress.h"

namespace inferline::hub {

struct PullOptions {
  std::string repo;  // "owner/name"
  std::string revision = "main";
  std::filesystem::path dir;  // empty: DefaultModelDir(repo)
  std::vector<std::string> include;
  HubClientOptions hub;
};

struct PulledFile {
  std::string path;
  uint64_t size = 0;
  bool skipped = false;  // already complete on disk
};

struct PullResult {
  std::filesystem::path dir;
  std::string commit;
  std::vector<PulledFile> files;
  uint64_t bytes_downloaded = 0;
  std::vector<std::string> warnings;
};

// models/<NAME>
std::filesystem::path DefaultModelDir(std::string_view repo);

// `progress` may be null.
[[nodiscard]] Result<PullResult> Pull(const PullOptions& options, Progress* progress);

}  // namespace inferline::hub
