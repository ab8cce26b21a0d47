// URLs for the Hub client: parsing endpoint and redirect URLs, resolving a redirect's Location
// against the URL it came from, and percent-encoding path segments.
//
// Only http:// and https:// are accepted. The Hub answers LFS downloads with a redirect to a
// CDN on another host (absolute) and renamed repositories with a redirect on the same host
// (relative), so both forms of Location are handled.
//
// Thread-safety: values and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::hub {

struct Url {
  bool https = false;
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // "443" / "80" when the URL has none
  std::string target;  // origin-form: "/path?query", never empty

  // "https://huggingface.co" or "http://127.0.0.1:8123": what a credential is scoped to.
  std::string Origin() const;
  std::string ToString() const { return Origin() + target; }
  // The value of the Host header: the host, with ":port" when it is not the default.
  std::string HostHeader() const;
};

[[nodiscard]] Result<Url> ParseUrl(std::string_view text);

// The URL a `Location` header points to, relative to `base` (RFC 3986 reference resolution).
[[nodiscard]] Result<Url> ResolveLocation(const Url& base, std::string_view location);

// Percent-encodes one path segment ("a b" -> "a%20b", "refs/pr/1" -> "refs%2Fpr%2F1").
std::string EncodeSegment(std::string_view segment);

// Percent-encodes each '/'-separated segment of a repository file path, keeping the slashes.
std::string EncodePath(std::string_view path);

}  // namespace inferline::hub
