// The operational endpoints every inferline process serves:
//
//   GET /healthz  200 {"status":"ok"} while the process runs (liveness)
//   GET /readyz   200 {"status":"ready"}, or 503 {"status":"unavailable","failing":[...]} when a
//                 readiness check fails or the server is shutting down (so load balancers drain)
//   GET /metrics  the registry in the Prometheus text format (version 0.0.4)
//
// Thread-safety: the readiness callback is called on io threads, possibly concurrently; it must
// be thread-safe and must not block (report cached state, don't probe a database inline).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "http/router.h"

namespace inferline::http {

// Names of the readiness checks that currently fail; empty means ready.
using ReadinessFn = std::function<std::vector<std::string>()>;

// `readiness` may be empty (always ready); `registry` must outlive the router.
void AddStandardRoutes(Router& router, ReadinessFn readiness, metrics::Registry& registry);

}  // namespace inferline::http
