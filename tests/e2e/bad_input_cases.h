// A catalogue of bad requests over HTTP, shared by the embedded (tests/e2e) and distributed
// (tests/distributed) suites. Each must get the right 4xx and a message (and, where a parameter
// is at fault, an error.param) naming what is wrong; the server must keep serving afterwards.
//
// Thread-safety: call from the test's thread (it reports through GoogleTest assertions).
#pragma once

#include <cstdint>
#include <string>

namespace inferline::e2e {

// Runs every case against the gateway on `port`. `admin` is an admin key; `alice` the key of
// the user "alice" (the catalogue patches her limits); a key for "mallory" is created and
// revoked on the way.
void CheckBadInputCatalogue(uint16_t port, const std::string& admin, const std::string& alice);

}  // namespace inferline::e2e
