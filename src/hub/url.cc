#include "hub/url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

namespace inferline::hub {

namespace urls = boost::urls;

namespace {

Result<Url> FromView(urls::url_view u, std::string_view text) {
  Url out;
  if (u.scheme_id() == urls::scheme::https) {
    out.https = true;
  } else if (u.scheme_id() != urls::scheme::http) {
    return InvalidArgument(fmt::format("\"{}\" is not an http:// or https:// URL", text));
  }
  out.host = u.host_address();
  if (out.host.empty()) return InvalidArgument(fmt::format("URL \"{}\" has no host", text));
  out.port = u.has_port() ? std::string(u.port()) : (out.https ? "443" : "80");
  if (out.port.empty()) return InvalidArgument(fmt::format("URL \"{}\" has an empty port", text));
  out.target = u.encoded_path();
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string Url::Origin() const {
  bool default_port = port == (https ? "443" : "80");
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("{}://{}{}", https ? "https" : "http", h, default_port ? "" : ":" + port);
}

std::string Url::HostHeader() const {
  bool default_port = port == (https ? "443" : "80");
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : h + ":" + port;
}

Result<Url> ParseUrl(std::string_view text) {
  auto parsed = urls::parse_absolute_uri(text);
  if (!parsed) return InvalidArgument(fmt::format("invalid URL \"{}\"", text));
  return FromView(*parsed, text);
}

Result<Url> ResolveLocation(const Url& base, std::string_view location) {
  auto ref = urls::parse_uri_reference(location);
  if (!ref) return InvalidArgument(fmt::format("invalid redirect Location \"{}\"", location));
  std::string base_text = base.ToString();  // the view below points into it
  auto base_parsed = urls::parse_absolute_uri(base_text);
  if (!base_parsed) return Internal(fmt::format("bad base URL \"{}\"", base.ToString()));
  urls::url resolved;
  auto r = urls::resolve(*base_parsed, *ref, resolved);
  if (!r) return InvalidArgument(fmt::format("cannot resolve redirect Location \"{}\"", location));
  return FromView(resolved, location);
}

std::string EncodeSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string EncodePath(std::string_view path) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out += EncodeSegment(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

}  // namespace inferline::hub
