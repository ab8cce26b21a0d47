#include "hub/digest.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace inferline::hub {

struct Digest::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Digest::Digest(Kind kind) : kind_(kind), ctx_(std::make_unique<Ctx>()) { Reset(); }
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::Reset() {
  if (ctx_->md == nullptr) ctx_->md = EVP_MD_CTX_new();
  // Failure here means OpenSSL cannot allocate or lacks SHA: nothing sensible can continue.
  if (ctx_->md == nullptr ||
      EVP_DigestInit_ex(ctx_->md, kind_ == Kind::kSha256 ? EVP_sha256() : EVP_sha1(),
                        nullptr) != 1) {
    std::fputs("inferline: OpenSSL digest initialisation failed\n", stderr);
    std::abort();
  }
}

void Digest::Update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

std::string Digest::FinishHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &n);
  std::string hex;
  hex.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

namespace {

// Feeds up to `limit` bytes of `path` to `digest`; returns how many were read.
Result<uint64_t> FeedFile(const std::filesystem::path& path, uint64_t limit, Digest& digest) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return NotFound(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  while (total < limit) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), limit - total));
    size_t n = std::fread(buf.data(), 1, want, f);
    if (n == 0) break;
    digest.Update(std::string_view(buf.data(), n));
    total += n;
  }
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Internal(fmt::format("cannot read {}", path.string()));
  return total;
}

}  // namespace

Result<std::string> Sha256OfFile(const std::filesystem::path& path) {
  Digest d(Digest::Kind::kSha256);
  ASSIGN_OR_RETURN(uint64_t n, FeedFile(path, UINT64_MAX, d));
  (void)n;
  return d.FinishHex();
}

Status HashFilePrefix(const std::filesystem::path& path, uint64_t limit, Digest& digest) {
  ASSIGN_OR_RETURN(uint64_t n, FeedFile(path, limit, digest));
  if (n != limit) {
    return Internal(fmt::format("{} is shorter than {} bytes", path.string(), limit));
  }
  return Status::Ok();
}

Result<std::string> GitBlobIdOfFile(const std::filesystem::path& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(fmt::format("cannot stat {}: {}", path.string(), ec.message()));
  Digest d(Digest::Kind::kSha1);
  std::string header = fmt::format("blob {}", size);
  header.push_back('\0');
  d.Update(header);
  ASSIGN_OR_RETURN(uint64_t n, FeedFile(path, size, d));
  if (n != size) return Internal(fmt::format("{} changed while it was read", path.string()));
  return d.FinishHex();
}

std::string NormalizeEtag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  std::string out(etag);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsHexDigest(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace inferline::hub
