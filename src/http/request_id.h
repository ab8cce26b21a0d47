// Request ids: taken from a client's X-Request-Id when it is sane, otherwise generated.
//
// An id ends up in log lines, response headers and store rows, so a client-supplied one is only
// trusted when it is short and made of [A-Za-z0-9._:-]; anything else (control characters,
// spaces, quotes, 200 KB of junk) is replaced by a fresh id.
//
// Thread-safety: both functions may be called from any thread (the generator is thread-local).
#pragma once

#include <string>
#include <string_view>

namespace inferline::http {

inline constexpr size_t kMaxRequestIdLength = 128;

// True if `id` is 1..kMaxRequestIdLength characters of [A-Za-z0-9._:-].
bool IsSaneRequestId(std::string_view id);

// "req_" followed by 24 random hex digits.
std::string NewRequestId();

}  // namespace inferline::http
