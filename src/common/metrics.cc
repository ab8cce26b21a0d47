#include "common/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>

namespace inferline::metrics {
namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string EscapeLabel(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// `{a="x",b="y"` without the closing brace, or "" when there are no labels.
std::string LabelPrefix(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  if (names.empty()) return {};
  std::string s = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ',';
    s += names[i];
    s += "=\"";
    s += EscapeLabel(values[i]);
    s += '"';
  }
  return s;
}

std::string Close(const std::string& prefix) { return prefix.empty() ? "" : prefix + "}"; }

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "metrics registry misuse: %s\n", msg.c_str());
  std::abort();
}

}  // namespace

void Counter::Inc(double v) { AtomicAdd(value_, v); }
void Gauge::Add(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

template <class T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {}

template <class T>
T& Family<T>::With(std::initializer_list<std::string_view> label_values) {
  if (label_values.size() == label_names_.size()) {
    std::lock_guard lock(mu_);
    auto it = series_.find(label_values);
    if (it != series_.end()) return *it->second;
  }
  return WithKey(std::vector<std::string>(label_values.begin(), label_values.end()));
}

template <class T>
T& Family<T>::With(const std::vector<std::string>& label_values) {
  return WithKey(label_values);
}

template <class T>
T& Family<T>::WithKey(std::vector<std::string> values) {
  if (values.size() != label_names_.size()) {
    Die(fmt::format("{}: {} label values for {} label names", name_, values.size(),
                    label_names_.size()));
  }
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it != series_.end()) return *it->second;
  std::unique_ptr<T> series;
  if constexpr (std::is_same_v<T, Histogram>) {
    series = std::make_unique<Histogram>(&buckets_);
  } else {
    series = std::make_unique<T>();
  }
  T& ref = *series;
  series_.emplace(std::move(values), std::move(series));
  return ref;
}

template <class T>
void Family<T>::Render(std::string& out) const {
  const char* type = std::is_same_v<T, Counter> ? "counter"
                     : std::is_same_v<T, Gauge> ? "gauge"
                                                : "histogram";
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, EscapeHelp(help_), name_, type);
  std::lock_guard lock(mu_);
  for (const auto& [values, series] : series_) {
    std::string prefix = LabelPrefix(label_names_, values);
    if constexpr (std::is_same_v<T, Histogram>) {
      auto counts = series->CumulativeCounts();
      for (size_t i = 0; i < counts.size(); ++i) {
        std::string le = i < buckets_.size() ? FormatValue(buckets_[i]) : "+Inf";
        std::string labels = prefix.empty() ? "{le=\"" + le + "\"}" : prefix + ",le=\"" + le + "\"}";
        out += fmt::format("{}_bucket{} {}\n", name_, labels, counts[i]);
      }
      out += fmt::format("{}_sum{} {}\n", name_, Close(prefix), FormatValue(series->Sum()));
      out += fmt::format("{}_count{} {}\n", name_, Close(prefix), series->Count());
    } else {
      out += fmt::format("{}{} {}\n", name_, Close(prefix), FormatValue(series->Value()));
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10,   30, 60};
  return kBuckets;
}

Registry::Entry& Registry::Find(const std::string& name, Type type,
                                const std::vector<std::string>& labels) {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    Entry e{type, labels, nullptr, nullptr, nullptr};
    return entries_.emplace(name, std::move(e)).first->second;
  }
  if (it->second.type != type || it->second.labels != labels) {
    Die(fmt::format("{} registered twice with a different type or labels", name));
  }
  return it->second;
}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, Type::kCounter, labels);
  if (!e.counter) e.counter = std::make_unique<CounterFamily>(name, help, labels);
  return *e.counter;
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, Type::kGauge, labels);
  if (!e.gauge) e.gauge = std::make_unique<GaugeFamily>(name, help, labels);
  return *e.gauge;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> labels,
                                        std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  Entry& e = Find(name, Type::kHistogram, labels);
  if (!e.histogram) {
    e.histogram = std::make_unique<HistogramFamily>(name, help, labels, std::move(buckets));
  }
  return *e.histogram;
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : entries_) {
    if (e.counter) e.counter->Render(out);
    if (e.gauge) e.gauge->Render(out);
    if (e.histogram) e.histogram->Render(out);
  }
  return out;
}

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace inferline::metrics
