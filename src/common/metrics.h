// A small Prometheus metrics registry: counters, gauges and histograms with labels, rendered in
// the Prometheus text exposition format (version 0.0.4).
//
// Each component declares all of its metrics in one struct built from a Registry (see
// http/http_metrics.h for an example), so the names live in one place.
//
// Thread-safety: every method is safe to call from any thread. Families and series are created
// under a mutex and never destroyed, so references returned by With() stay valid for the life of
// the registry; updates to a series are lock-free atomics.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace inferline::metrics {

class Counter {
 public:
  void Inc(double v = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  void Inc() { Add(1.0); }
  void Dec() { Add(-1.0); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Cumulative counts per bound (and +Inf last), sum and count.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound plus +Inf
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

// A metric name with a fixed list of label names; With() returns the series for a list of label
// values (same length and order as the names).
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets = {});
  T& With(std::initializer_list<std::string_view> label_values);
  T& With(const std::vector<std::string>& label_values);
  // The series with no labels (only for families declared without label names).
  T& Get() { return With({}); }

  const std::string& name() const { return name_; }
  void Render(std::string& out) const;

 private:
  T& WithKey(std::vector<std::string> values);
  // Orders label-value lists; compares stored keys with a caller's string_views too, so that
  // finding an existing series (every request's counters) allocates nothing.
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;  // guards series_
  std::map<std::vector<std::string>, std::unique_ptr<T>, KeyLess> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Default latency buckets in seconds, 1 ms .. 60 s.
const std::vector<double>& DefaultLatencyBuckets();

class Registry {
 public:
  // Adding a name twice returns the existing family (so two components may share a metric);
  // a different type or label list for the same name is a programming error and aborts.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> labels = {});
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> labels = {},
                                std::vector<double> buckets = DefaultLatencyBuckets());

  // The whole registry in the Prometheus text format, families sorted by name.
  std::string Render() const;

  // The process-wide registry used by the binary; tests may build their own.
  static Registry& Default();

 private:
  struct Entry {
    Type type;
    std::vector<std::string> labels;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  Entry& Find(const std::string& name, Type type, const std::vector<std::string>& labels);

  mutable std::mutex mu_;  // guards entries_
  std::map<std::string, Entry> entries_;
};

}  // namespace inferline::metrics
