// Transport: one HTTP/1.1 exchange over plain TCP or TLS, with the response body streamed to a
// callback, for downloads far larger than memory.
//
// TLS uses OpenSSL through boost::asio::ssl and verifies the server's certificate chain against
// the system's trust store (or TransportOptions::ca_file), sends SNI and checks that the
// certificate names the host. connect_timeout bounds name resolution, TCP connect and the TLS
// handshake; read_timeout bounds every single read or write, so a stalled server is cut off
// while a slow but moving download is not.
//
// Each call opens its own connection (`Connection: close`): a pull makes a handful of
// requests, each dwarfed by the body it fetches. Redirects are not followed here (see
// hub_http.h), so the caller sees the Hub's headers on the redirect itself.
//
// Errors: Unavailable when the host cannot be reached, TLS fails, or the connection breaks
// (including mid-body, after some bytes were delivered); DeadlineExceeded on a timeout; any
// error the callbacks return is passed through unchanged and ends the exchange. Callbacks must
// not return Unavailable or DeadlineExceeded for their own errors, since callers retry those.
//
// Thread-safety: Fetch blocks the calling thread on a private io_context; concurrent calls
// from different threads are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "hub/url.h"

namespace inferline::hub {

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{15'000};
  std::chrono::milliseconds read_timeout{60'000};
  std::string user_agent = "inferline";
  std::string ca_file;  // extra trust anchors (PEM); empty: the system store only
};

struct ResponseHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::optional<uint64_t> content_length;

  // The first header of that name (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;
using HeadCallback = std::function<Status(const ResponseHead&)>;
using BodyCallback = std::function<Status(std::string_view chunk)>;

// GET `url` with `headers`; `on_head` sees the status and headers, then `on_body` every chunk
// of the body as it arrives.
[[nodiscard]] Status Fetch(const Url& url, const Headers& headers, const TransportOptions& options,
                           const HeadCallback& on_head, const BodyCallback& on_body);

}  // namespace inferline::hub
