// Alert evaluation cost on the `large` preset (10 halls × 1,000 racks, 410 CRAH units, about
// 61,000 devices sampled once a minute): the default rules (config/alerts.toml) over records the
// simulator produced, decoded as the loader hands them on. Reports records/s of one thread and,
// from the preset's real-time rate, the share of a core that real-time evaluation takes.
//
//   build/bench/alert_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include "alert/engine.h"
#include "core/record_json.h"
#include "core/time.h"
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
void BM_EvaluateLargePreset(benchmark::State& state) {
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
      engine.Observe(records[i]);
    }
    benchmark::DoNotOptimize(engine.TakeEvents());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records.size()));
  const double per_second = static_cast<double>(records.size()) / (kMinutes * 60.0);
  state.counters["realtime_records_per_s"] = per_second;
  state.counters["active_alerts"] = static_cast<double>(engine.Active().size());
}
BENCHMARK(BM_EvaluateLargePreset)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dcmon::alert

BENCHMARK_MAIN();
