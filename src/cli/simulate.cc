#include "cli/simulate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "bus/kafka_sink.h"
#include "cli/exit.h"
#include "cli/signals.h"
#include "core/config.h"
#include "core/sink.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace dcmon::cli {
namespace {

// Records go to Kafka when a bootstrap is configured (at any layer) and --out was not given, else
// to --out.
Result<std::unique_ptr<Sink>> OpenOutput(const SimulateFlags& f, bool out_given) {
  Result<Config> config = f.kafka.Merge();
  if (!config.ok()) return config.status();
  const bus::KafkaConfig kafka = bus::KafkaConfigFrom(*config);
  if (kafka.bootstrap.empty() || (out_given && f.kafka.kafka.empty())) return OpenNdjsonSink(f.out);
  if (out_given) return InvalidArgument("--out and --kafka: choose one output");
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(kafka);
  if (!producer.ok()) return producer.status();
  return std::unique_ptr<Sink>(new bus::KafkaSink(std::move(*producer), kafka));
}

}  // namespace

CLI::App* AddSimulate(CLI::App& app, SimulateFlags& f) {
  CLI::App* cmd =
      app.add_subcommand("simulate", "Simulate a data center and write its telemetry as NDJSON");
  cmd->add_option("--facility", f.facility,
                  "Preset (small, legacy, hyperscale, large) or a facility .toml file")
      ->capture_default_str();
  cmd->add_option("--seed", f.seed, "Random seed; the same seed gives the same output")
      ->capture_default_str();
  cmd->add_option("--from", f.from,
                  "Start time (RFC 3339); with --to, backfill the range as fast as possible");
  cmd->add_option("--to", f.to, "End time (RFC 3339), exclusive");
  cmd->add_option("--speed", f.speed,
                  "Simulated seconds per wall-clock second when not backfilling")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--scenario", f.scenarios,
                  "Fault KIND[:TARGET]@START[+DURATION][*RATE]; repeatable");
  cmd->add_option("--out", f.out, "NDJSON output file, - for stdout")->capture_default_str();
  cmd->add_option("--labels", f.labels,
                  "Write one ground-truth label per injected fault to this file");
  cmd->add_flag("--quiet", f.quiet, "No progress on stderr");
  f.kafka.Add(*cmd);  // with Kafka configured, records go there instead of stdout
  return cmd;
}

int RunSimulate(const SimulateFlags& f, bool out_given) {
  Result<sim::FacilityConfig> facility = sim::LoadFacility(f.facility);
  if (!facility.ok()) return Fail("simulate", facility.status());
  if (f.from.empty() != f.to.empty() && !f.to.empty())
    return Fail("simulate", 2, "--to needs --from");
  int64_t start = NowMicros() / 1000000 * 1000000;
  if (!f.from.empty()) {
    Result<int64_t> t = ParseRfc3339(f.from);
    if (!t.ok()) return Fail("simulate", 2, "--from: " + t.status().message());
    start = *t;
  }
  const bool backfill = !f.to.empty();
  int64_t end = 0;
  if (backfill) {
    Result<int64_t> t = ParseRfc3339(f.to);
    if (!t.ok()) return Fail("simulate", 2, "--to: " + t.status().message());
    end = *t;
    if (end <= start) return Fail("simulate", 2, "--to must be after --from");
  }
  Result<std::unique_ptr<sim::Simulator>> simulator = sim::CreateWithScenarios(
      *facility, {.seed = f.seed, .start_micros = start}, f.scenarios, start);
  if (!simulator.ok()) return Fail("simulate", simulator.status());
  sim::Simulator& s = **simulator;

  Result<std::unique_ptr<Sink>> out = OpenOutput(f, out_given);
  if (!out.ok()) return Fail("simulate", out.status());
  std::unique_ptr<Sink> labels;
  if (!f.labels.empty()) {
    Result<std::unique_ptr<Sink>> l = OpenNdjsonSink(f.labels);
    if (!l.ok()) return Fail("simulate", l.status());
    labels = std::move(*l);
  }

  InstallStopSignals();
  const bool progress = backfill && !f.quiet && ::isatty(STDERR_FILENO);
  const auto wall_start = std::chrono::steady_clock::now();
  auto last_report = wall_start;
  Status status;
  if (backfill) {
    // In slices of simulated time, so that progress can be shown and a signal stops the run
    // promptly.
    constexpr int64_t kSlice = 600 * 1000000LL;
    for (int64_t t = start; t < end && !StopRequested() && status.ok();) {
      t = std::min(end, t + kSlice);
      status = s.RunUntil(t, **out, labels.get());
      const auto now = std::chrono::steady_clock::now();
      if (progress && (now - last_report > std::chrono::milliseconds(500) || t == end)) {
        last_report = now;
        const double elapsed = std::chrono::duration<double>(now - wall_start).count();
        const double done = static_cast<double>(t - start) / static_cast<double>(end - start);
        std::fprintf(stderr, "\rsimulated %s  %lld records  %.2fM records/s  ETA %.0fs   ",
                     FormatRfc3339(t).c_str(), static_cast<long long>(s.counters().records),
                     static_cast<double>(s.counters().records) / elapsed / 1e6,
                     done > 0 ? elapsed * (1 - done) / done : 0.0);
      }
    }
    if (progress) std::fputc('\n', stderr);
    if (status.ok()) status = s.Finish(**out);
    if (status.ok() && labels) status = labels->Flush();
  } else {
    status = sim::RunInRealTime(s, start, f.speed, **out, labels.get(), StopRequested);
  }
  if (!status.ok()) return Fail("simulate", status);
  return 0;
}

}  // namespace dcmon::cli
