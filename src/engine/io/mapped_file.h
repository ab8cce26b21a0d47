// Read-only memory maps of model files, and the byte buffers that stand in for them in tests.
//
// A ByteSource owns a contiguous, immutable run of bytes for as long as it lives: either a
// POSIX mmap (PROT_READ, MAP_PRIVATE; unmapped in the destructor) or a heap copy. Weight files
// hand out pointers into it, so it must outlive every TensorView taken from it.
//
// Thread-safety: immutable after construction; safe to read from any number of threads.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"

namespace inferline::engine {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::span<const std::byte> bytes() const = 0;
};

// Maps `path` read-only. An empty file yields an empty span (mmap cannot map zero bytes).
[[nodiscard]] Result<std::unique_ptr<ByteSource>> MapFile(const std::filesystem::path& path);

// Copies `bytes` into an owned buffer.
std::unique_ptr<ByteSource> CopyBytes(std::span<const std::byte> bytes);

// Reads a whole (small) text file such as config.json. Refuses files over `max_bytes`.
[[nodiscard]] Result<std::string> ReadTextFile(const std::filesystem::path& path,
                                               size_t max_bytes = size_t{64} << 20);

}  // namespace inferline::engine
