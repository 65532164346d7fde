// Prometheus text exposition (format 0.0.4) for /metrics, and the one metric type that needs its
// own state, a histogram. Counters and gauges are the components' own atomics, read when the
// exposition is built; an Exposition groups samples by family (one HELP and TYPE each, whatever
// order they were added in) and escapes label values and help text.
//
//   Histogram latency({0.001, 0.01, 0.1, 1});       // thread-safe
//   latency.Observe(0.004);
//   Exposition e;                                    // one per scrape
//   e.Counter("dcmon_records_total", "Records stored", {{"table", "sensor_readings"}}, 42);
//   e.Histogram("dcmon_commit_seconds", "Batch commit time", {}, latency);
//   std::string text = e.Finish();
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dcmon {

// Fixed upper bounds; counts, sum and count kept with atomics. Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), the last one for values above every bound.
  std::vector<uint64_t> Counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// Not thread-safe: build one per scrape.
class Exposition {
 public:
  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value);
  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value);
  void Histogram(std::string_view name, std::string_view help, const Labels& labels,
                 const dcmon::Histogram& histogram);
  std::string Finish();

 private:
  struct Family {
    std::string name, help, type;
    std::string samples;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, std::string_view type);
  std::vector<Family> families_;
};

}  // namespace dcmon
