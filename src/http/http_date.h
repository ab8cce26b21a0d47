// The HTTP Date header value ("Sun, 06 Nov 1994 08:49:37 GMT") for the current second.
//
// Formatting a date on every response is measurable at tens of thousands of requests a second,
// so each thread caches the string and rebuilds it when the second changes.
//
// Thread-safety: any thread; the returned view stays valid until the same thread calls again.
#pragma once

#include <string_view>

namespace inferline::http {

std::string_view HttpDate();

}  // namespace inferline::http
