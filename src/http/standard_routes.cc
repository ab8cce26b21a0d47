#include "http/standard_routes.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "http/request_context.h"

namespace inferline::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

void AddStandardRoutes(Router& router, ReadinessFn readiness, metrics::Registry& registry) {
  router.Add(beast_http::verb::get, "/healthz", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Json(beast_http::status::ok, boost::json::object{{"status", "ok"}});
    co_return;
  });

  router.Add(beast_http::verb::get, "/readyz",
             [readiness = std::move(readiness)](RequestContext& ctx) -> asio::awaitable<void> {
               std::vector<std::string> failing;
               if (readiness) failing = readiness();
               if (ctx.stopping()) failing.push_back("shutting_down");
               if (failing.empty()) {
                 ctx.Json(beast_http::status::ok, boost::json::object{{"status", "ready"}});
                 co_return;
               }
               boost::json::array names;
               for (auto& name : failing) names.emplace_back(name);
               ctx.Json(beast_http::status::service_unavailable,
                        boost::json::object{{"status", "unavailable"}, {"failing", names}});
             });

  router.Add(beast_http::verb::get, "/metrics",
             [&registry](RequestContext& ctx) -> asio::awaitable<void> {
               ctx.Text(beast_http::status::ok, registry.Render(),
                        "text/plain; version=0.0.4; charset=utf-8");
               co_return;
             });
}

}  // namespace inferline::http
