// Maps our Status codes onto HTTP status codes and OpenAI-style error bodies.
//
// Every error a client sees has the shape OpenAI's API uses, so existing SDKs surface it:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": "..."}}
// The HTTP code follows from the StatusCode (InvalidArgument -> 400, NotFound -> 404, ...);
// callers may override `type` and `code` where OpenAI distinguishes cases that share a
// StatusCode (e.g. 429 "rate_limit_exceeded" versus "insufficient_quota").
//
// Thread-safety: pure functions.
#pragma once

#include <boost/beast/http/status.hpp>
#include <boost/json/value.hpp>

#include <string_view>

#include "common/status.h"

namespace inferline::http {

// 400, 401, ... for a non-ok code; 200 for kOk.
boost::beast::http::status HttpStatusFor(StatusCode code);

// OpenAI's `error.type` for a code: "invalid_request_error", "authentication_error", ...
std::string_view OpenAiErrorType(StatusCode code);

// A stable machine-readable `error.code`: "invalid_argument", "not_found", ...
std::string_view OpenAiErrorCode(StatusCode code);

// The OpenAI-style body for `status`. Empty `type` / `code` select the defaults above;
// `param` is Status::param() or null.
boost::json::value ErrorBody(const Status& status, std::string_view type = {},
                             std::string_view code = {});

// An error body for a case with no StatusCode of its own (405, 413, 431, ...).
boost::json::value ErrorBody(std::string_view message, std::string_view type,
                             std::string_view code);

}  // namespace inferline::http
