#include "http/router.h"

#include <cstdio>
#include <cstdlib>

namespace inferline::http {
namespace {

using Verb = boost::beast::http::verb;

[[noreturn]] void BadRoute(std::string_view pattern, std::string_view why) {
  std::fprintf(stderr, "http: invalid route \"%.*s\": %.*s\n", static_cast<int>(pattern.size()),
               pattern.data(), static_cast<int>(why.size()), why.data());
  std::abort();
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::string_view PathParams::Get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  return {};
}

std::vector<Router::Segment> Router::ParsePattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') BadRoute(pattern, "must start with '/'");
  std::vector<Segment> segments;
  if (pattern == "/") return segments;
  std::string_view rest = pattern.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view text = rest.substr(0, slash);
    Segment seg;
    if (!text.empty() && text.front() == '{') {
      if (text.size() < 3 || text.back() != '}') BadRoute(pattern, "malformed {parameter}");
      seg.is_param = true;
      seg.text = std::string(text.substr(1, text.size() - 2));
      for (char c : seg.text) {
        if (!IsNameChar(c)) BadRoute(pattern, "parameter names are [A-Za-z0-9_]");
      }
      for (const Segment& s : segments) {
        if (s.is_param && s.text == seg.text) BadRoute(pattern, "duplicate parameter name");
      }
    } else {
      if (text.find_first_of("{}") != std::string_view::npos) {
        BadRoute(pattern, "braces must enclose a whole segment");
      }
      seg.text = std::string(text);
    }
    segments.push_back(std::move(seg));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return segments;
}

void Router::Add(Verb method, std::string_view pattern, Handler handler) {
  if (!handler) BadRoute(pattern, "empty handler");
  std::vector<Segment> segments = ParsePattern(pattern);
  for (Route& route : routes_) {
    bool same_shape = route.segments.size() == segments.size();
    for (size_t i = 0; same_shape && i < segments.size(); ++i) {
      const Segment& a = route.segments[i];
      const Segment& b = segments[i];
      same_shape = a.is_param == b.is_param && (a.is_param || a.text == b.text);
    }
    if (!same_shape) continue;
    if (route.pattern != pattern) BadRoute(pattern, "conflicts with " + route.pattern);
    for (const auto& [verb, h] : route.handlers) {
      if (verb == method) BadRoute(pattern, "method registered twice");
    }
    route.handlers.emplace_back(method, std::move(handler));
    return;
  }
  Route route{std::string(pattern), std::move(segments), {}};
  route.handlers.emplace_back(method, std::move(handler));
  routes_.push_back(std::move(route));
}

bool Router::Matches(const Route& route, std::span<const std::string> segments) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& seg = route.segments[i];
    // An empty segment ("/v1/requests//events") never binds a parameter.
    if (seg.is_param ? segments[i].empty() : seg.text != segments[i]) return false;
  }
  return true;
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
  }
  return false;
}

std::string Router::AllowList(const Route& route) {
  std::string allow;
  bool has_get = false;
  bool has_head = false;
  bool has_options = false;
  for (const auto& [verb, handler] : route.handlers) {
    has_get |= verb == Verb::get;
    has_head |= verb == Verb::head;
    has_options |= verb == Verb::options;
    if (!allow.empty()) allow += ", ";
    allow += boost::beast::http::to_string(verb);
  }
  if (has_get && !has_head) allow += ", HEAD";
  if (!has_options) allow += ", OPTIONS";
  return allow;
}

RouteMatch Router::Match(Verb method, std::span<const std::string> segments) const {
  const Route* best = nullptr;
  for (const Route& route : routes_) {
    if (Matches(route, segments) && (best == nullptr || MoreSpecific(route, *best))) best = &route;
  }
  RouteMatch match;
  if (best == nullptr) return match;
  match.pattern = best->pattern;

  const Handler* handler = nullptr;
  const Handler* get_handler = nullptr;
  for (const auto& [verb, h] : best->handlers) {
    if (verb == method) handler = &h;
    if (verb == Verb::get) get_handler = &h;
  }
  if (handler == nullptr && method == Verb::head) handler = get_handler;
  if (handler == nullptr) {
    match.kind = method == Verb::options ? RouteMatch::Kind::kOptions
                                         : RouteMatch::Kind::kMethodNotAllowed;
    match.allow = AllowList(*best);
    return match;
  }
  match.kind = RouteMatch::Kind::kFound;
  match.handler = handler;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (best->segments[i].is_param) match.params.Add(best->segments[i].text, segments[i]);
  }
  return match;
}

}  // namespace inferline::http
