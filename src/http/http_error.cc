#include "http/http_error.h"

#include <boost/json/object.hpp>

namespace inferline::http {

namespace beast_http = boost::beast::http;

beast_http::status HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return beast_http::status::ok;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return beast_http::status::bad_request;
    case StatusCode::kUnauthenticated: return beast_http::status::unauthorized;
    case StatusCode::kPermissionDenied: return beast_http::status::forbidden;
    case StatusCode::kNotFound: return beast_http::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return beast_http::status::conflict;
    case StatusCode::kResourceExhausted: return beast_http::status::too_many_requests;
    // 499 is nginx's "client closed request"; Beast has no enumerator for it.
    case StatusCode::kCancelled: return static_cast<beast_http::status>(499);
    case StatusCode::kUnimplemented: return beast_http::status::not_implemented;
    case StatusCode::kUnavailable: return beast_http::status::service_unavailable;
    case StatusCode::kDeadlineExceeded: return beast_http::status::gateway_timeout;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal: return beast_http::status::internal_server_error;
  }
  return beast_http::status::internal_server_error;
}

std::string_view OpenAiErrorType(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return "invalid_request_error";
    case StatusCode::kUnauthenticated: return "authentication_error";
    case StatusCode::kPermissionDenied: return "permission_error";
    case StatusCode::kNotFound: return "not_found_error";
    case StatusCode::kResourceExhausted: return "rate_limit_exceeded";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kDeadlineExceeded: return "timeout";
    case StatusCode::kUnimplemented: return "not_implemented";
    case StatusCode::kUnavailable: return "service_unavailable";
    case StatusCode::kOk:
    case StatusCode::kDataLoss:
    case StatusCode::kInternal: return "server_error";
  }
  return "server_error";
}

std::string_view OpenAiErrorCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kResourceExhausted: return "rate_limit_exceeded";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kOutOfRange: return "out_of_range";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDeadlineExceeded: return "deadline_exceeded";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kDataLoss: return "data_loss";
    case StatusCode::kInternal: return "internal_error";
  }
  return "internal_error";
}

boost::json::value ErrorBody(const Status& status, std::string_view type, std::string_view code) {
  boost::json::value body = ErrorBody(status.message(),
                                      type.empty() ? OpenAiErrorType(status.code()) : type,
                                      code.empty() ? OpenAiErrorCode(status.code()) : code);
  if (!status.param().empty()) body.at("error").as_object()["param"] = status.param();
  return body;
}

boost::json::value ErrorBody(std::string_view message, std::string_view type,
                             std::string_view code) {
  boost::json::object error;
  error["message"] = message;
  error["type"] = type;
  error["param"] = nullptr;
  error["code"] = code;
  boost::json::object body;
  body["error"] = std::move(error);
  return body;
}

}  // namespace inferline::http
