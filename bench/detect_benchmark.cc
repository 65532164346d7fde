// Cost of the detectors: points/s through the per-series detector (one series, and many series
// round-robin so that state comes from memory, not registers), and records/s through the facility
// detector on a simulated day of the `small` preset, and the online detector (what serve runs) on
// the `large` preset. Memory per series is reported as a counter. A plain EWMA z-score runs beside
// the per-series detector as the reference.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cmath>
#include <random>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/record_json.h"
#include "core/sink.h"
#include "detect/facility_detector.h"
#include "detect/online.h"
#include "detect/series_detector.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace {

constexpr int64_t kSecond = 1'000'000;

std::vector<double> Values(size_t n) {
  std::mt19937_64 rng(42);  // fixed seed: the same values every run
  std::normal_distribution<double> noise(0, 0.2);
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 22 + 2 * std::sin(i * 2e-3) + noise(rng);
  return v;
}

void BM_SeriesDetector(benchmark::State& state) {
  const size_t series = static_cast<size_t>(state.range(0));
  std::vector<dcmon::detect::SeriesDetector> detectors(series);
  const std::vector<double> values = Values(1 << 16);
  int64_t t = 1'755'000'000 * kSecond;
  size_t i = 0;
  double sink = 0;
  for (auto _ : state) {
    // One sample of every series per 30 s tick, as a facility reports them.
    for (size_t s = 0; s < series; ++s) {
      sink += detectors[s].Update(t, values[(i + s) & 0xffff]).score;
    }
    ++i;
    t += 30 * kSecond;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * series));
  state.counters["bytes_per_series"] = sizeof(dcmon::detect::SeriesDetector);
}
BENCHMARK(BM_SeriesDetector)->Arg(1)->Arg(1000)->Arg(100000);

// The reference measured side by side: the cheapest streaming detector in use (a plain EWMA mean
// and variance with a z-score, NAB's "windowed Gaussian" family), on the same values and layout.
void BM_EwmaZScoreReference(benchmark::State& state) {
  struct Ewma {
    double mean = 22, var = 1;
  };
  const size_t series = static_cast<size_t>(state.range(0));
  std::vector<Ewma> detectors(series);
  const std::vector<double> values = Values(1 << 16);
  size_t i = 0;
  double sink = 0;
  for (auto _ : state) {
    for (size_t s = 0; s < series; ++s) {
      Ewma& e = detectors[s];
      const double x = values[(i + s) & 0xffff];
      const double d = x - e.mean;
      sink += std::fabs(d) / std::sqrt(e.var);
      e.mean += 0.05 * d;
      e.var += 0.05 * (d * d - e.var);
    }
    ++i;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * series));
  state.counters["bytes_per_series"] = sizeof(Ewma);
}
BENCHMARK(BM_EwmaZScoreReference)->Arg(1)->Arg(1000)->Arg(100000);

class Collect : public dcmon::Sink {
 public:
  dcmon::Status Write(std::string_view, std::string_view line) override {
    dcmon::Result<dcmon::Record> r = decoder_.Decode(line);
    if (r.ok()) records.push_back(std::move(*r));
    return dcmon::Status::Ok();
  }
  dcmon::Status Flush() override { return dcmon::Status::Ok(); }
  std::vector<dcmon::Record> records;

 private:
  dcmon::RecordDecoder decoder_;
};

void BM_FacilityDetector(benchmark::State& state) {
  auto facility = dcmon::sim::LoadFacility("small");
  const int64_t t0 = 1'755'000'000 * kSecond;
  auto sim = dcmon::sim::Simulator::Create(*facility, {.seed = 1, .start_micros = t0});
  Collect c;
  (void)(*sim)->RunUntil(t0 + 86400 * kSecond, c, nullptr);
  const dcmon::Topology topo = dcmon::sim::TopologyOf((*sim)->model());
  int64_t anomalies = 0;
  for (auto _ : state) {
    dcmon::detect::FacilityDetector det({}, topo,
                                        [&](const dcmon::detect::Anomaly&) { ++anomalies; });
    for (const dcmon::Record& r : c.records) det.Observe(r);
  }
  benchmark::DoNotOptimize(anomalies);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.records.size()));
}
BENCHMARK(BM_FacilityDetector)->Unit(benchmark::kMillisecond);

// Heap bytes in use (glibc), whatever the allocator kept from earlier runs.
int64_t HeapBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

// What serve runs after each commit, on the `large` preset (10 halls x 1,000 racks, 410 CRAHs,
// ~61,000 devices once a minute): the OnlineDetector over 5 simulated minutes, fed again and again,
// each pass 5 minutes later in event time. Reports records/s of one thread, the preset's real-time
// rate (for the share of a core) and the heap the detectors' state took per device.
void BM_OnlineDetectorLargePreset(benchmark::State& state) {
  constexpr int64_t kMinute = 60 * kSecond;
  auto facility = dcmon::sim::LoadFacility("large");
  const int64_t t0 = 1'755'000'000 * kSecond;
  auto sim = dcmon::sim::Simulator::Create(*facility, {.seed = 1, .start_micros = t0});
  Collect c;
  (void)(*sim)->RunUntil(t0 + 5 * kMinute, c, nullptr);
  const dcmon::Topology topo = dcmon::sim::TopologyOf((*sim)->model());
  std::vector<int64_t> base;
  std::unordered_set<std::string_view> devices;
  for (const dcmon::Record& r : c.records) {
    base.push_back(std::visit([](const auto& x) { return x.timestamp_micros; }, r));
    devices.insert(dcmon::DeviceIdOf(r));
  }
  const int64_t before = HeapBytes();
  auto det = *dcmon::detect::OnlineDetector::Create({}, topo);
  int64_t pass = 0, anomalies = 0, after_first = 0;
  std::vector<dcmon::detect::Anomaly> found;
  for (auto _ : state) {
    const int64_t shift = pass++ * 5 * kMinute;
    for (size_t i = 0; i < c.records.size(); ++i) {
      std::visit([&](auto& x) { x.timestamp_micros = base[i] + shift; }, c.records[i]);
      det->Observe(c.records[i], found);
    }
    anomalies += static_cast<int64_t>(found.size());
    found.clear();
    if (pass == 1) after_first = HeapBytes();
  }
  benchmark::DoNotOptimize(anomalies);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.records.size()));
  state.counters["realtime_records_per_s"] = static_cast<double>(c.records.size()) / 300.0;
  state.counters["devices"] = static_cast<double>(devices.size());
  state.counters["bytes_per_device"] =
      static_cast<double>(after_first - before) / static_cast<double>(devices.size());
}
BENCHMARK(BM_OnlineDetectorLargePreset)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
