#include "cli/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bus/embedded_broker.h"
#include "bus/kafka_sink.h"
#include "cli/exit.h"
#include "cli/signals.h"
#include "core/log.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"
#include "store/duckdb.h"

namespace dcmon::cli {
namespace {

// The newest event time in a store file (0 when empty), read before serve takes the file.
Result<int64_t> NewestEventTime(const std::string& path) {
  Result<std::unique_ptr<store::Database>> db = store::Database::Open(
      {.path = path, .memory_limit = "256MB", .threads = 1, .read_only = true});
  if (!db.ok()) return db.status();
  Result<std::unique_ptr<store::Connection>> conn = (*db)->Connect();
  if (!conn.ok()) return conn.status();
  Result<store::QueryResult> r = (*conn)->Query(
      "SELECT coalesce(greatest((SELECT epoch_us(max(event_time)) FROM sensor_readings), "
      "(SELECT epoch_us(max(event_time)) FROM cooling_metrics)), 0)");
  if (!r.ok()) return r.status();
  return r->Int64(0, 0);
}

}  // namespace

CLI::App* AddRun(CLI::App& app, RunFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "run", "Everything in one process: embedded broker, simulated facility, loader, API");
  AddServeFlags(*cmd, f.serve);
  cmd->add_option("--facility", f.facility, "Facility preset or TOML file")->capture_default_str();
  cmd->add_option("--seed", f.seed, "Simulator seed")->capture_default_str();
  cmd->add_option("--speed", f.speed, "Simulated seconds per wall-clock second")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 10000.0));
  cmd->add_option("--history", f.history_minutes,
                  "Minutes of simulated history backfilled into a new store")
      ->capture_default_str()
      ->check(CLI::Range(0, 7 * 24 * 60));
  cmd->add_option("--partitions", f.partitions, "Partitions per topic of the embedded broker")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--scenario", f.scenarios, "Fault to inject: KIND[:TARGET]@START[+DURATION]");
  return cmd;
}

int RunRun(const RunFlags& f) {
  Result<Config> config = f.serve.Merge();
  if (!config.ok()) return Fail("run", config.status());
  // The local demo: reads from this machine need no token (the dashboard), unless configured.
  if (!config->Get("api.open_reads_on_loopback"))
    config->SetFlag("api.open_reads_on_loopback", "true");
  // The alert engine's CRAH zones are the simulated facility's.
  if (!config->Get("alert.facility")) config->SetFlag("alert.facility", f.facility);
  Result<store::DatabaseOptions> store_options = store::DatabaseOptionsFrom(*config);
  if (!store_options.ok()) return Fail("run", store_options.status());
  const std::string& store = store_options->path;
  const bool new_store =
      store == ":memory:" || store.starts_with("md:") || !std::filesystem::exists(store);

  Result<sim::FacilityConfig> facility = sim::LoadFacility(f.facility);
  if (!facility.ok()) return Fail("run", facility.status());
  const int64_t now = NowMicros() / 1'000'000 * 1'000'000;
  // History only into a new store. An existing one already has the past (maybe ahead of the clock,
  // after a run at --speed > 1): carry on after its newest record instead of sending it again.
  int64_t start = now - int64_t{f.history_minutes} * 60'000'000;
  if (!new_store) {
    Result<int64_t> newest = NewestEventTime(store);
    if (!newest.ok()) return Fail("run", newest.status());
    start = std::max(now, *newest / 1'000'000 * 1'000'000 + 1'000'000);
  }
  Result<std::unique_ptr<sim::Simulator>> simulator = sim::CreateWithScenarios(
      *facility, {.seed = f.seed, .start_micros = start}, f.scenarios, now);
  if (!simulator.ok()) return Fail("run", simulator.status());

  InstallStopSignals();
  std::unique_ptr<bus::EmbeddedBroker> broker;
  if (!config->Get("kafka.bootstrap")) {
    const bus::KafkaConfig topics = bus::KafkaConfigFrom(*config);
    Result<std::unique_ptr<bus::EmbeddedBroker>> b =
        bus::EmbeddedBroker::Start({.partitions = f.partitions,
                                    .topics = {topics.sensors_topic, topics.cooling_topic,
                                               topics.rejects_topic, topics.metrics_topic}});
    if (!b.ok()) return Fail("run", b.status());
    broker = std::move(*b);
    config->SetFlag("kafka.bootstrap", broker->bootstrap());
    // A new, empty broker: Kafka positions a store kept from an earlier one mean nothing here.
    config->SetFlag("loader.forget_offsets", "true");
  }
  const bus::KafkaConfig kafka = bus::KafkaConfigFrom(*config);
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(kafka);
  if (!producer.ok()) return Fail("run", producer.status());
  bus::KafkaSink sink(std::move(*producer), kafka);

  std::atomic<bool> sim_stop{false};
  std::thread sim_thread;
  const int code = ServeUntilStopped(*config, [&](const ServeInfo& info) {
    sim_thread = std::thread([&] {
      Status s = sim::RunInRealTime(**simulator, now, f.speed, sink, nullptr,
                                    [&] { return sim_stop.load() || StopRequested(); });
      if (!s.ok()) Logger("run")->error("simulator: {}", s.message());
    });
    std::printf("dcmon run: a simulated facility (%s, %zu devices) is live\n", f.facility.c_str(),
                (*simulator)->devices().size());
    std::printf("  dashboard  %s/\n", info.url.c_str());
    std::printf("  API        %s  (summary: %s/api/v1/summary)\n", info.url.c_str(),
                info.url.c_str());
    std::printf("  metrics    %s/metrics\n", info.url.c_str());
    if (!info.admin_token.empty()) std::printf("  API token  %s\n", info.admin_token.c_str());
    std::printf("  Kafka      %s%s\n", kafka.bootstrap.c_str(),
                broker ? "  (embedded broker, in memory)" : "");
    std::printf("  store      %s\n", store.c_str());
    std::printf("Ctrl-C stops everything.\n");
    std::fflush(stdout);
  });
  sim_stop.store(true);
  if (sim_thread.joinable()) sim_thread.join();
  return code;
}

}  // namespace dcmon::cli
