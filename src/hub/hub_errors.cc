#include "hub/hub_errors.h"

#include <fmt/format.h>

namespace inferline::hub {

namespace {

std::string What(const ErrorContext& c) {
  if (c.file.empty()) return fmt::format("'{}' (revision '{}')", c.repo, c.revision);
  return fmt::format("'{}' in '{}' (revision '{}')", c.file, c.repo, c.revision);
}

// The server's own explanation, when it gave one, as " (…)".
std::string Detail(const ResponseHead& head, std::string_view body) {
  std::string_view msg = head.Header("X-Error-Message");
  if (msg.empty() && head.Header("Content-Type").starts_with("text/plain")) {
    msg = body.substr(0, 200);
  }
  if (msg.empty()) return "";
  return fmt::format(" (the Hub says: {})", msg);
}

}  // namespace

Status ErrorForResponse(const ResponseHead& head, std::string_view body, const ErrorContext& c) {
  std::string_view code = head.Header("X-Error-Code");
  std::string detail = Detail(head, body);
  const char* token_hint = c.have_token
                               ? "check that your token is valid and can read it"
                               : "if it is private or gated, pass --token (or set HF_TOKEN)";
  if (code == "GatedRepo") {
    return PermissionDenied(fmt::format(
        "'{}' is gated: accept its terms at {} and pass --token (or set HF_TOKEN) with a token "
        "of that account{}",
        c.repo, c.page_url, detail));
  }
  if (code == "RevisionNotFound") {
    return NotFound(fmt::format("no such revision '{}' of '{}'{}", c.revision, c.repo, detail));
  }
  if (code == "EntryNotFound" || (head.status == 404 && !c.file.empty() && code.empty())) {
    return NotFound(fmt::format("no such file: {}{}", What(c), detail));
  }
  if (code == "RepoNotFound" || head.status == 404) {
    return NotFound(fmt::format("no such model or revision: {}; check the name, and {}{}",
                                What(c), token_hint, detail));
  }
  if (head.status == 401) {
    return Unauthenticated(fmt::format(
        "{} is gated or private: {}{}", What(c),
        c.have_token ? "the token was refused; check that it is valid and can read it"
                     : "pass --token (or set HF_TOKEN) with a token that can read it",
        detail));
  }
  if (head.status == 403) {
    return PermissionDenied(fmt::format(
        "access to {} was refused (403): it is gated or private; accept its terms at {} and "
        "pass --token (or set HF_TOKEN) with a token that has access{}",
        What(c), c.page_url, detail));
  }
  if (head.status == 429) {
    return Unavailable(fmt::format("{} is rate limiting requests (429){}", c.host, detail));
  }
  if (head.status >= 500) {
    return Unavailable(
        fmt::format("{} answered {} for {}{}", c.host, head.status, What(c), detail));
  }
  return FailedPrecondition(
      fmt::format("unexpected answer {} from {} for {}{}", head.status, c.host, What(c), detail));
}

bool IsRetryable(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace inferline::hub
