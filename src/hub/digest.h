// Content digests the Hub publishes, computed with OpenSSL's EVP interface: SHA-256 (the oid of
// an LFS file: weights, large tokenizers) and the git blob id (SHA-1 of "blob <size>\0" +
// content: the id of every regular file in the repository).
//
// Thread-safety: a Digest belongs to one thread; the free functions are reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::hub {

class Digest {
 public:
  enum class Kind { kSha256, kSha1 };
  explicit Digest(Kind kind = Kind::kSha256);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;

  void Update(std::string_view bytes);
  // Lowercase hex of everything fed so far; the digest may not be updated afterwards.
  std::string FinishHex();
  // Starts over, as if newly constructed.
  void Reset();

 private:
  Kind kind_;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// SHA-256 of a whole file, in lowercase hex.
[[nodiscard]] Result<std::string> Sha256OfFile(const std::filesystem::path& path);
// Feeds the first `limit` bytes of a file into `digest` (to resume hashing a partial download).
[[nodiscard]] Status HashFilePrefix(const std::filesystem::path& path, uint64_t limit,
                                    Digest& digest);

// The git blob id of a file (what the Hub lists as blobId, and sends as ETag for non-LFS files).
[[nodiscard]] Result<std::string> GitBlobIdOfFile(const std::filesystem::path& path);

// "\"abc\"" / "W/\"abc\"" -> "abc", lowercased.
std::string NormalizeEtag(std::string_view etag);
bool IsHexDigest(std::string_view s, size_t length);

}  // namespace inferline::hub
