#include "http/http_error.h"

#include <gtest/gtest.h>


namespace inferline::http {
namespace {

using boost::beast::http::status;

TEST(HttpErrorTest, MapsEveryStatusCodeToItsHttpCode) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kOk), status::ok);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), status::bad_request);
  EXPECT_EQ(HttpStatusFor(StatusCode::kOutOfRange), status::bad_request);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), status::unauthorized);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), status::forbidden);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), status::not_found);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), status::conflict);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), status::conflict);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), status::too_many_requests);
  EXPECT_EQ(static_cast<int>(HttpStatusFor(StatusCode::kCancelled)), 499);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), status::internal_server_error);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDataLoss), status::internal_server_error);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnimplemented), status::not_implemented);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), status::service_unavailable);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDeadlineExceeded), status::gateway_timeout);
}

TEST(HttpErrorTest, UsesOpenAiErrorTypes) {
  EXPECT_EQ(OpenAiErrorType(StatusCode::kInvalidArgument), "invalid_request_error");
  EXPECT_EQ(OpenAiErrorType(StatusCode::kUnauthenticated), "authentication_error");
  EXPECT_EQ(OpenAiErrorType(StatusCode::kPermissionDenied), "permission_error");
  EXPECT_EQ(OpenAiErrorType(StatusCode::kNotFound), "not_found_error");
  EXPECT_EQ(OpenAiErrorType(StatusCode::kResourceExhausted), "rate_limit_exceeded");
  EXPECT_EQ(OpenAiErrorType(StatusCode::kInternal), "server_error");
}

TEST(HttpErrorTest, BodyHasOpenAiShapeWithNullParam) {
  boost::json::value body = ErrorBody(NotFound("no such request"));
  const auto& error = body.at("error").as_object();
  EXPECT_EQ(error.at("message").as_string(), "no such request");
  EXPECT_EQ(error.at("type").as_string(), "not_found_error");
  EXPECT_TRUE(error.at("param").is_null());
  EXPECT_EQ(error.at("code").as_string(), "not_found");
  EXPECT_EQ(error.size(), 4u);
}

TEST(HttpErrorTest, BodyCarriesParamAndOverrides) {
  boost::json::value body = ErrorBody(InvalidArgument("must be positive", "max_tokens"));
  EXPECT_EQ(body.at("error").at("param").as_string(), "max_tokens");
  EXPECT_EQ(body.at("error").at("type").as_string(), "invalid_request_error");

  boost::json::value quota =
      ErrorBody(ResourceExhausted("monthly tokens used up"), "insufficient_quota", "insufficient_quota");
  EXPECT_EQ(quota.at("error").at("type").as_string(), "insufficient_quota");
  EXPECT_EQ(quota.at("error").at("code").as_string(), "insufficient_quota");
}

}  // namespace
}  // namespace inferline::http
