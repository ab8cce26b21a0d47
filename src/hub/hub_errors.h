// Hub error responses -> Status values whose messages tell a user what to do.
//
// The Hub explains most refusals in an `X-Error-Code` header (RepoNotFound, RevisionNotFound,
// EntryNotFound, GatedRepo) with a human `X-Error-Message`; it answers 401 rather than 404
// for a repository it will not show an anonymous caller, since a private repository must
// look exactly like a missing one. Codes: NotFound (no such model, revision or file),
// Unauthenticated (401: pass a token), PermissionDenied (403, gated), Unavailable (429 and 5xx,
// which callers retry), FailedPrecondition (anything else).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "hub/transport.h"

namespace inferline::hub {

struct ErrorContext {
  std::string repo;      // "owner/name"
  std::string revision;  // as the user gave it
  std::string file;      // the file being fetched, or "" for the revision listing
  std::string host;      // who answered
  std::string page_url;  // the model's page, where gated terms are accepted
  bool have_token = false;
};

// `head.status` must be >= 400; `body` is the (possibly truncated) response body.
[[nodiscard]] Status ErrorForResponse(const ResponseHead& head, std::string_view body,
                                      const ErrorContext& context);

// Unavailable and DeadlineExceeded: a connection problem or a server-side failure that a later
// attempt may not hit.
bool IsRetryable(const Status& status);

}  // namespace inferline::hub
