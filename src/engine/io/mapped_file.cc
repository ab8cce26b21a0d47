#include "engine/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace inferline::engine {
namespace {

class MappedBytes final : public ByteSource {
 public:
  MappedBytes(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~MappedBytes() override {
    if (addr_ != nullptr) munmap(addr_, size_);
  }
  MappedBytes(const MappedBytes&) = delete;
  MappedBytes& operator=(const MappedBytes&) = delete;

  std::span<const std::byte> bytes() const override {
    return {static_cast<const std::byte*>(addr_), size_};
  }

 private:
  void* addr_;
  size_t size_;
};

class OwnedBytes final : public ByteSource {
 public:
  explicit OwnedBytes(std::vector<std::byte> data) : data_(std::move(data)) {}
  std::span<const std::byte> bytes() const override { return data_; }

 private:
  std::vector<std::byte> data_;
};

// Closes a descriptor on scope exit; the mapping stays valid after close.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<std::unique_ptr<ByteSource>> MapFile(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = fmt::format("cannot open {}: {}", path.string(), std::strerror(err));
    if (err == ENOENT) return NotFound(std::move(msg));
    return Unavailable(std::move(msg));
  }
  FdCloser closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return Unavailable(fmt::format("cannot stat {}: {}", path.string(), std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(fmt::format("{} is not a regular file", path.string()));
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0) return std::unique_ptr<ByteSource>(new MappedBytes(nullptr, 0));
  void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) {
    return Unavailable(fmt::format("cannot mmap {}: {}", path.string(), std::strerror(errno)));
  }
  return std::unique_ptr<ByteSource>(new MappedBytes(addr, size));
}

std::unique_ptr<ByteSource> CopyBytes(std::span<const std::byte> bytes) {
  return std::make_unique<OwnedBytes>(std::vector<std::byte>(bytes.begin(), bytes.end()));
}

Result<std::string> ReadTextFile(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return NotFound(fmt::format("{} does not exist", path.string()));
    }
    return Unavailable(fmt::format("cannot read {}: {}", path.string(), ec.message()));
  }
  if (size > max_bytes) {
    return InvalidArgument(
        fmt::format("{} is {} bytes, more than the {} allowed", path.string(), size, max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable(fmt::format("cannot open {}", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Unavailable(fmt::format("error reading {}", path.string()));
  return std::move(ss).str();
}

}  // namespace inferline::engine
