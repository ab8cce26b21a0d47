// Router: maps (method, path) to a coroutine handler, with `{name}` path parameters.
//
//   router.Add(verb::get, "/v1/requests/{id}/events", StreamEvents);
//
// A path that matches no pattern is a 404; a path that matches a pattern registered for other
// methods is a 405 whose Allow header lists those methods. HEAD falls back to the GET handler
// (the server drops the body), and OPTIONS on a known path is answered with the Allow list, or
// by the options hook when one is set (so a CORS layer can answer preflight requests).
// Where two patterns match, the one with a literal segment earliest wins, so "/v1/models/all"
// beats "/v1/models/{id}".
//
// Registering an invalid or conflicting pattern is a programming error and aborts at start-up.
//
// Thread-safety: build the router on one thread, then hand it to HttpServer; after that it is
// only read, from any io thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inferline::http {

class RequestContext;

using Handler = std::function<boost::asio::awaitable<void>(RequestContext&)>;

// Answers an OPTIONS request for a known path; `allow` is the value of the Allow header.
using OptionsHook =
    std::function<boost::asio::awaitable<void>(RequestContext&, std::string_view allow)>;

// The decoded values of a matched route's `{name}` segments.
class PathParams {
 public:
  // The value of `name`, or "" if the route has no such parameter.
  std::string_view Get(std::string_view name) const;
  void Add(std::string name, std::string value) {
    params_.emplace_back(std::move(name), std::move(value));
  }
  size_t size() const { return params_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// The route pattern label used when no route matched (metrics, access log).
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed, kOptions };
  Kind kind = Kind::kNotFound;
  const Handler* handler = nullptr;       // kFound only
  std::string_view pattern = kUnmatchedRoute;  // the matched pattern; lives as long as the router
  PathParams params;                      // kFound only
  std::string allow;                      // kMethodNotAllowed and kOptions: "GET, HEAD, OPTIONS"
};

class Router {
 public:
  using Verb = boost::beast::http::verb;

  void Add(Verb method, std::string_view pattern, Handler handler);
  void SetOptionsHook(OptionsHook hook) { options_hook_ = std::move(hook); }
  const OptionsHook& options_hook() const { return options_hook_; }

  // `segments` are the decoded path segments ("/v1/models" -> {"v1", "models"}).
  RouteMatch Match(Verb method, std::span<const std::string> segments) const;

 private:
  struct Segment {
    bool is_param = false;
    std::string text;  // the literal, or the parameter's name
  };
  struct Route {
    std::string pattern;
    std::vector<Segment> segments;
    std::vector<std::pair<Verb, Handler>> handlers;  // in registration order
  };

  static std::vector<Segment> ParsePattern(std::string_view pattern);
  static bool Matches(const Route& route, std::span<const std::string> segments);
  static bool MoreSpecific(const Route& a, const Route& b);
  static std::string AllowList(const Route& route);

  std::vector<Route> routes_;
  OptionsHook options_hook_;
};

}  // namespace inferline::http
