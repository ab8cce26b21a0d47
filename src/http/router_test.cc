#include "http/router.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace inferline::http {
namespace {

using Verb = boost::beast::http::verb;
using Kind = RouteMatch::Kind;

boost::asio::awaitable<void> Noop(RequestContext&) { co_return; }

std::vector<std::string> Split(std::vector<std::string> parts) { return parts; }

TEST(RouterTest, BindsPathParameters) {
  Router router;
  router.Add(Verb::get, "/v1/requests/{id}/events", Noop);
  RouteMatch m = router.Match(Verb::get, Split({"v1", "requests", "req 42", "events"}));
  ASSERT_EQ(m.kind, Kind::kFound);
  EXPECT_EQ(m.pattern, "/v1/requests/{id}/events");
  EXPECT_EQ(m.params.Get("id"), "req 42");
  EXPECT_EQ(m.params.Get("missing"), "");
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router router;
  router.Add(Verb::get, "/v1/models", Noop);
  RouteMatch m = router.Match(Verb::get, Split({"v1", "nothing"}));
  EXPECT_EQ(m.kind, Kind::kNotFound);
  EXPECT_EQ(m.pattern, kUnmatchedRoute);
  // A trailing slash is a different path, and an empty segment never binds a parameter.
  router.Add(Verb::get, "/v1/requests/{id}", Noop);
  EXPECT_EQ(router.Match(Verb::get, Split({"v1", "models", ""})).kind, Kind::kNotFound);
  EXPECT_EQ(router.Match(Verb::get, Split({"v1", "requests", ""})).kind, Kind::kNotFound);
}

TEST(RouterTest, RootPattern) {
  Router router;
  router.Add(Verb::get, "/", Noop);
  EXPECT_EQ(router.Match(Verb::get, Split({})).kind, Kind::kFound);
  EXPECT_EQ(router.Match(Verb::get, Split({"x"})).kind, Kind::kNotFound);
}

TEST(RouterTest, LiteralSegmentBeatsParameter) {
  Router router;
  router.Add(Verb::get, "/v1/models/{id}", Noop);
  router.Add(Verb::get, "/v1/models/default", Noop);
  EXPECT_EQ(router.Match(Verb::get, Split({"v1", "models", "default"})).pattern,
            "/v1/models/default");
  EXPECT_EQ(router.Match(Verb::get, Split({"v1", "models", "gpt2"})).pattern, "/v1/models/{id}");
}

TEST(RouterTest, WrongMethodIsMethodNotAllowedWithAllowList) {
  Router router;
  router.Add(Verb::post, "/v1/requests", Noop);
  router.Add(Verb::get, "/v1/requests/{id}", Noop);
  router.Add(Verb::delete_, "/v1/requests/{id}", Noop);
  RouteMatch m = router.Match(Verb::put, Split({"v1", "requests", "abc"}));
  EXPECT_EQ(m.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(m.pattern, "/v1/requests/{id}");
  EXPECT_EQ(m.allow, "GET, DELETE, HEAD, OPTIONS");
  EXPECT_EQ(router.Match(Verb::get, Split({"v1", "requests"})).allow, "POST, OPTIONS");
}

TEST(RouterTest, HeadFallsBackToGetAndOptionsListsMethods) {
  Router router;
  router.Add(Verb::get, "/healthz", Noop);
  RouteMatch head = router.Match(Verb::head, Split({"healthz"}));
  EXPECT_EQ(head.kind, Kind::kFound);
  EXPECT_NE(head.handler, nullptr);
  RouteMatch options = router.Match(Verb::options, Split({"healthz"}));
  EXPECT_EQ(options.kind, Kind::kOptions);
  EXPECT_EQ(options.allow, "GET, HEAD, OPTIONS");
}

TEST(RouterTest, ExplicitOptionsHandlerWins) {
  Router router;
  router.Add(Verb::get, "/x", Noop);
  router.Add(Verb::options, "/x", Noop);
  EXPECT_EQ(router.Match(Verb::options, Split({"x"})).kind, Kind::kFound);
}

TEST(RouterDeathTest, RejectsBadPatterns) {
  Router router;
  EXPECT_DEATH(router.Add(Verb::get, "no-slash", Noop), "must start with");
  EXPECT_DEATH(router.Add(Verb::get, "/a/{}", Noop), "malformed");
  EXPECT_DEATH(router.Add(Verb::get, "/a/x{id}", Noop), "whole segment");
  EXPECT_DEATH(router.Add(Verb::get, "/a/{id}/{id}", Noop), "duplicate");
  router.Add(Verb::get, "/a/{id}", Noop);
  EXPECT_DEATH(router.Add(Verb::get, "/a/{id}", Noop), "registered twice");
  EXPECT_DEATH(router.Add(Verb::get, "/a/{name}", Noop), "conflicts");
}

}  // namespace
}  // namespace inferline::http
