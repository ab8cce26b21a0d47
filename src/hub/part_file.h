// PartFile: the "<file>.incomplete" a download appends to, with write errors turned into
// Status values a user can act on (a full disk says so, and that a rerun will resume).
//
// Thread-safety: owned by one download.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace inferline::hub {

class PartFile {
 public:
  // Opens (creating) `path` for appending.
  [[nodiscard]] static Result<PartFile> Open(const std::filesystem::path& path);
  PartFile(PartFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
    other.fd_ = -1;
  }
  PartFile& operator=(PartFile&&) = delete;
  ~PartFile();

  [[nodiscard]] Status Append(std::string_view data);
  // Empties the file (the server is sending it from the start).
  [[nodiscard]] Status Truncate();
  // Closes, reporting a deferred write error (NFS and some file systems report ENOSPC here).
  [[nodiscard]] Status Close();

 private:
  PartFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_ = -1;
};

// The size of a regular file, or 0 when it does not exist.
uint64_t FileSizeOrZero(const std::filesystem::path& path);

}  // namespace inferline::hub
