// Alert evaluation cost on the `large` preset (10 halls × 1,000 racks, 410 CRAH units, about
// 61,000 devices sampled once a minute): the default rules (config/alerts.toml) over records the
// simulator produced, decoded as the loader hands them on. Reports records/s of one thread and,
// from the preset's real-time rate, the share of a core that real-time evaluation takes; with the
// records spread over 1 and over 256 sources (Kafka partitions: the event clock's watermark). And
// the watermark alone, detect::SourceWatermark against the scan over every source it replaced.
//
//   build/bench/alert_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <climits>
#include <unordered_map>

#include "alert/engine.h"
#include "core/record_json.h"
#include "core/time.h"
#include "detect/watermark.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace dcmon::alert {
namespace {

constexpr int64_t kMinute = 60'000'000;
constexpr int kMinutes = 5;

struct Corpus {
  std::vector<Record> records;  // kMinutes of the large preset, in emission order
  Topology topology;
};

class DecodeSink : public Sink {
 public:
  explicit DecodeSink(std::vector<Record>& out) : out_(out) {}
  Status Write(std::string_view, std::string_view line) override {
    if (Result<Record> r = decoder_.Decode(line); r.ok()) out_.push_back(std::move(*r));
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }

 private:
  std::vector<Record>& out_;
  RecordDecoder decoder_;
};

const Corpus& LargePreset() {
  static const Corpus corpus = [] {
    Corpus c;
    auto facility = sim::LoadFacility("large");
    CHECK(facility.ok(), "{}", facility.status().message());
    const int64_t start = *ParseRfc3339("2025-07-20T12:00:00Z");
    auto sim = sim::Simulator::Create(*facility, {.seed = 1, .start_micros = start});
    CHECK(sim.ok(), "{}", sim.status().message());
    c.topology = sim::TopologyOf((*sim)->model());
    DecodeSink sink(c.records);
    CHECK((*sim)->RunUntil(start + kMinutes * kMinute, sink, nullptr).ok(), "simulation failed");
    return c;
  }();
  return corpus;
}

void SetTime(Record& r, int64_t t) {
  std::visit([t](auto& x) { x.timestamp_micros = t; }, r);
}
int64_t TimeOf(const Record& r) {
  return std::visit([](const auto& x) { return x.timestamp_micros; }, r);
}

// Feeds the corpus again and again, each pass kMinutes later in event time, so every record is
// evaluated (none is late) and the engine's state stays that of a running facility.
// Argument: how many sources (Kafka partitions) the records are spread over, round robin.
void BM_EvaluateLargePreset(benchmark::State& state) {
  const int64_t sources = state.range(0);
  const Corpus& corpus = LargePreset();
  std::vector<Record> records = corpus.records;
  std::vector<int64_t> base;
  for (const Record& r : records) base.push_back(TimeOf(r));
  auto rules = LoadRules(DCMON_SOURCE_DIR "/config/alerts.toml");
  CHECK(rules.ok(), "{}", rules.status().message());
  int64_t now = 0;
  Engine engine = *Engine::Create(*rules, corpus.topology, {}, [&now] { return now; });
  int64_t pass = 0;
  for (auto _ : state) {
    const int64_t shift = pass++ * kMinutes * kMinute;
    for (size_t i = 0; i < records.size(); ++i) {
      now = base[i] + shift;
      SetTime(records[i], now);
      engine.Observe(records[i], static_cast<int64_t>(i) % sources);
    }
    benchmark::DoNotOptimize(engine.TakeEvents());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records.size()));
  const double per_second = static_cast<double>(records.size()) / (kMinutes * 60.0);
  state.counters["realtime_records_per_s"] = per_second;
  state.counters["active_alerts"] = static_cast<double>(engine.Active().size());
}
BENCHMARK(BM_EvaluateLargePreset)->Arg(1)->Arg(256)->Unit(benchmark::kMillisecond);

// The watermark before it kept its sources ordered (detect/watermark.cc at ded02fb): two passes
// over every source per Mark. The peer the ordered one is measured against.
class ScanWatermark {
 public:
  explicit ScanWatermark(int64_t max_lag_micros) : max_lag_micros_(max_lag_micros) {}
  void Advance(int64_t source, int64_t t, int64_t ingest_micros) {
    auto [it, added] = sources_.try_emplace(source, Source{t, ingest_micros});
    if (!added && t > it->second.newest) it->second = Source{t, ingest_micros};
  }
  int64_t Mark(int64_t ingest_micros) const {
    int64_t newest = INT64_MIN;
    for (const auto& [id, s] : sources_) newest = std::max(newest, s.newest);
    int64_t mark = newest;
    for (const auto& [id, s] : sources_) {
      const bool stopped =
          newest - s.newest > max_lag_micros_ &&
          (s.advanced == INT64_MIN || ingest_micros - s.advanced > max_lag_micros_);
      if (!stopped) mark = std::min(mark, s.newest);
    }
    return mark;
  }

 private:
  struct Source {
    int64_t newest, advanced;
  };
  int64_t max_lag_micros_;
  std::unordered_map<int64_t, Source> sources_;
};

// One Advance and one Mark per record, as Engine::Observe and OnlineDetector::ObserveAt call them:
// records from `sources` partitions in turns of 8 records each, every partition one second further
// in event time per turn, partition 0 read 20 minutes behind (a backfill), one stopped an hour ago.
template <class Watermark>
void BM_Watermark(benchmark::State& state) {
  const int64_t sources = state.range(0);
  constexpr int64_t kSecond = 1'000'000, kLag = 600 * kSecond;
  Watermark w(kLag);
  const int64_t t0 = *ParseRfc3339("2025-07-20T12:00:00Z");
  w.Advance(sources, t0, t0);  // stopped
  int64_t step = 0, wall = t0 + 3600 * kSecond, records = 0;
  for (auto _ : state) {
    for (int64_t source = 0; source < sources; ++source) {
      const int64_t t = t0 + 3600 * kSecond + step * kSecond - (source == 0 ? 1200 * kSecond : 0);
      for (int i = 0; i < 8; ++i) {
        w.Advance(source, t + i * 1000, wall);
        benchmark::DoNotOptimize(w.Mark(wall));
      }
      wall += 100;
    }
    ++step;
    records += sources * 8;
  }
  state.SetItemsProcessed(records);
}
BENCHMARK(BM_Watermark<detect::SourceWatermark>)->Arg(8)->Arg(256);
BENCHMARK(BM_Watermark<ScanWatermark>)->Arg(8)->Arg(256);

}  // namespace
}  // namespace dcmon::alert

BENCHMARK_MAIN();
