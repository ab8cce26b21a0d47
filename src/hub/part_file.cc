#include "hub/part_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace inferline::hub {

namespace {

Status WriteError(const std::filesystem::path& path, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return ResourceExhausted(fmt::format(
        "disk full while writing {} ({}): free some space and run the same command again to "
        "resume",
        path.string(), std::strerror(err)));
  }
  return Internal(fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
}

}  // namespace

Result<PartFile> PartFile::Open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    if (err == ENOSPC || err == EDQUOT) return WriteError(path, err);
    return PermissionDenied(fmt::format("cannot create {}: {}", path.string(), std::strerror(err)));
  }
  return PartFile(path, fd);
}

PartFile::~PartFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status PartFile::Append(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return WriteError(path_, errno);
    }
    if (n == 0) return WriteError(path_, ENOSPC);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status PartFile::Truncate() {
  if (::ftruncate(fd_, 0) != 0) return WriteError(path_, errno);
  return Status::Ok();
}

Status PartFile::Close() {
  if (fd_ < 0) return Status::Ok();
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0 && errno != EINTR) return WriteError(path_, errno);
  return Status::Ok();
}

uint64_t FileSizeOrZero(const std::filesystem::path& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

}  // namespace inferline::hub
