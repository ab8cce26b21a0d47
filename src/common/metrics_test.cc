#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace inferline::metrics {
namespace {

TEST(MetricsTest, RendersCountersGaugesHistograms) {
  Registry r;
  auto& req = r.AddCounter("http_requests_total", "Requests.", {"route", "code"});
  req.With({"/healthz", "200"}).Inc();
  req.With({"/healthz", "200"}).Inc(2);
  r.AddGauge("inferline_queue_depth", "Depth.", {"model"}).With({"m\"x"}).Set(5);
  auto& h = r.AddHistogram("latency_seconds", "Latency.", {}, {0.1, 1});
  h.Get().Observe(0.05);
  h.Get().Observe(0.5);
  h.Get().Observe(5);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("http_requests_total{route=\"/healthz\",code=\"200\"} 3"), std::string::npos);
  EXPECT_NE(text.find("inferline_queue_depth{model=\"m\\\"x\"} 5"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count 3"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum 5.55"), std::string::npos);
}

TEST(MetricsTest, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.AddCounter("x_total", "X.");
  auto& b = r.AddCounter("x_total", "X.");
  EXPECT_EQ(&a, &b);
}

// The string_view lookup and the stored keys agree: the same labels find the same series,
// whichever form they come in; labels that differ only in a later value do not.
TEST(MetricsTest, LabelValuesFindTheirSeriesInEitherForm) {
  Registry r;
  auto& f = r.AddCounter("y_total", "Y.", {"route", "code"});
  Counter& a = f.With({"/v1/requests", "202"});
  EXPECT_EQ(&f.With({"/v1/requests", "202"}), &a);
  EXPECT_EQ(&f.With(std::vector<std::string>{"/v1/requests", "202"}), &a);
  std::string route = "/v1/requests";
  EXPECT_EQ(&f.With({route, std::string_view("2022").substr(0, 3)}), &a);
  EXPECT_NE(&f.With({"/v1/requests", "429"}), &a);
  EXPECT_NE(&f.With({"/v1/request", "202"}), &a);
  EXPECT_NE(&f.With({"/v1/requestsx", "202"}), &a);
}

TEST(MetricsTest, ConcurrentIncrementsAreExact) {
  Registry r;
  auto& c = r.AddCounter("c_total", "C.", {"k"});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.With({"a"}).Inc();
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.With({"a"}).Value(), 40000);
}

}  // namespace
}  // namespace inferline::metrics
