// Helpers of the distributed end-to-end suite: submitting async requests from many threads,
// waiting on PostgreSQL for requests to end, and the accounting check every test ends with
// (the usage ledger in PostgreSQL, the Redis quota counters and GET /v1/quota agree exactly,
// nothing stays reserved, each request has one terminal record and at most one ledger row).
//
// Thread-safety: Submit may run on many threads; the checks report through GoogleTest from the
// test's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster.h"

namespace inferline::distributed {

// Results of Submit: accepted ids, and every other answer ("<status> <body>").
struct Submitted {
  std::vector<std::string> accepted;
  std::vector<std::string> refused;
  std::chrono::milliseconds elapsed{0};
};

// POSTs `count` async requests (/v1/requests) from `threads` client threads; body(i) gives the
// i-th JSON body, key(i) its API key. `stop` (optional) ends it early; each thread waits
// `pause` after each request (a steady load rather than a burst).
Submitted Submit(uint16_t port, int count, int threads,
                 const std::function<std::string(int)>& body,
                 const std::function<std::string(int)>& key,
                 const std::atomic<bool>* stop = nullptr,
                 std::chrono::milliseconds pause = std::chrono::milliseconds(0));

// "('a','b',...)" for SQL IN lists (ids are quoted, quotes doubled).
std::string SqlList(const std::vector<std::string>& ids);

// Polls PostgreSQL until every id is terminal; returns the ids still open at the deadline.
std::vector<std::string> WaitTerminal(Cluster& c, const std::vector<std::string>& ids,
                                      std::chrono::seconds timeout = std::chrono::seconds(300));

// status -> count over `ids` (one row per id; ids without a record are counted as "missing").
std::map<std::string, int64_t> StatusCounts(Cluster& c, const std::vector<std::string>& ids);

// The accounting of one user, from all three places.
struct Accounting {
  int64_t ledger_rows = 0, ledger_tokens = 0;  // usage_ledger
  int64_t redis_day_tokens_used = 0, redis_day_tokens_reserved = 0;
  int64_t redis_day_requests_used = 0, redis_day_requests_reserved = 0;
  int64_t redis_month_tokens_used = 0, redis_month_requests_used = 0;
  int64_t redis_concurrent = 0;
  int64_t api_day_tokens_used = -1, api_day_tokens_reserved = -1;
  int64_t api_day_requests_used = -1, api_month_tokens_used = -1;
  int64_t records_tokens = 0;  // sum of usage_total_tokens on the user's request records
};
Accounting ReadAccounting(Cluster& c, uint16_t port, const std::string& user,
                          const std::string& key);
// Expects everything settled and every figure equal; `what` labels failures.
void ExpectAccountingAgrees(Cluster& c, uint16_t port, const std::string& user,
                            const std::string& key, const std::string& what);

// Every id has exactly one usage_ledger row iff it completed with tokens, and no row belongs to
// an id outside a terminal state.
void ExpectOneLedgerRowPerCompleted(Cluster& c, const std::vector<std::string>& ids);

// POST /v1/admin/keys for `user` with the unlimited plan and big daily limits set, so that the
// calendar windows report a limit; returns the secret ("" on failure).
std::string CreateUserKey(Cluster& c, const std::string& user);

}  // namespace inferline::distributed
