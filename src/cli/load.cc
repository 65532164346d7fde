#include "cli/load.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "bus/kafka_config.h"
#include "cli/exit.h"
#include "cli/signals.h"
#include "core/config.h"
#include "core/log.h"
#include "ingest/loader.h"
#include "store/duckdb.h"

namespace dcmon::cli {

CLI::App* AddLoad(CLI::App& app, LoadFlags& f) {
  CLI::App* cmd = app.add_subcommand("load", "Load records from Kafka into DuckDB, exactly once");
  f.kafka.Add(*cmd);
  cmd->add_option("--store", f.store, "DuckDB file, :memory:, or md:DATABASE (store.path)");
  cmd->add_option("--group", f.group, "Kafka consumer group (loader.group)");
  cmd->add_option("--memory-limit", f.memory_limit, "DuckDB memory_limit (store.memory_limit)");
  cmd->add_option("--threads", f.threads, "DuckDB threads (store.threads)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--exit-when-idle", f.exit_when_idle_s,
                  "Run as a batch job: stop once partitions are assigned and nothing arrived for "
                  "this many seconds")
      ->check(CLI::PositiveNumber);
  return cmd;
}

int RunLoad(const LoadFlags& f) {
  Result<Config> config = f.kafka.Merge();
  if (!config.ok()) return Fail("load", config.status());
  if (!f.store.empty()) config->SetFlag("store.path", f.store);
  if (!f.group.empty()) config->SetFlag("loader.group", f.group);
  if (!f.memory_limit.empty()) config->SetFlag("store.memory_limit", f.memory_limit);
  if (f.threads > 0) config->SetFlag("store.threads", std::to_string(f.threads));
  // A loader keeps its cores busy with its own threads (decoding, committing) and librdkafka's;
  // DuckDB's worker thread only competed with them: one simulated day loaded in ×0.84 the time
  // and ×0.74 the CPU with threads 1 (docs/benchmarks.md).
  if (!config->Get("store.threads")) config->SetFlag("store.threads", "1");
  const bus::KafkaConfig kafka = bus::KafkaConfigFrom(*config);
  if (Status s = kafka.Validate(); !s.ok())
    return Fail("load", 2, s.message() + " (--kafka or DCMON_KAFKA_BOOTSTRAP)");
  Result<store::DatabaseOptions> store = store::DatabaseOptionsFrom(*config);
  if (!store.ok()) return Fail("load", store.status());
  Result<ingest::LoaderOptions> options = ingest::LoaderOptionsFrom(*config);
  if (!options.ok()) return Fail("load", options.status());
  Result<std::unique_ptr<store::Database>> db = store::Database::Open(*store);
  if (!db.ok()) return Fail("load", db.status());
  const std::string group = options->group;
  Result<std::unique_ptr<ingest::Loader>> loader =
      ingest::Loader::Create(kafka, **db, std::move(*options));
  if (!loader.ok()) return Fail("load", loader.status());
  ingest::Loader& l = **loader;

  InstallStopSignals();
  auto log = Logger("load");
  log->info("loading {} and {} from {} into {} (group {})", kafka.sensors_topic,
            kafka.cooling_topic, kafka.bootstrap, store->path, group);
  // Every 10 s: throughput, lag per topic (summed over this member's partitions) and what did not
  // become a row.
  auto status_line = [&](double seconds, int64_t stored_before) {
    std::map<std::string, int64_t> lag;
    for (const bus::PartitionLag& p : l.partition_lags())
      lag[p.topic] += std::max<int64_t>(p.lag, 0);
    std::string lags;
    for (const auto& [topic, n] : lag) lags += fmt::format("lag {} {}, ", topic, n);
    log->info(
        "{:.0f} records/s, {}stored {}, rejected {}, duplicates {}, lost {}, late {}, commit "
        "failures {}{}",
        (l.counters().stored - stored_before) / seconds, lags, l.counters().stored.load(),
        l.counters().rejected.load(), l.counters().duplicates.load(),
        l.consumer_counters().lost.load(), l.counters().late.load(),
        l.counters().commit_failures.load(), l.healthy() ? "" : ", UNHEALTHY: " + l.last_error());
  };
  auto last = std::chrono::steady_clock::now();
  int64_t stored_at_last = 0;
  auto last_data = std::chrono::steady_clock::now();
  int64_t batches_seen = 0;
  while (!StopRequested()) {
    const auto now = std::chrono::steady_clock::now();
    if (f.exit_when_idle_s > 0) {
      if (l.counters().batches != batches_seen || !l.assigned()) {
        batches_seen = l.counters().batches;
        last_data = now;
      } else if (std::chrono::duration<double>(now - last_data).count() >= f.exit_when_idle_s) {
        log->info("nothing new for {} s: done", f.exit_when_idle_s);
        break;
      }
    }
    if (now - last >= std::chrono::seconds(10)) {
      status_line(std::chrono::duration<double>(now - last).count(), stored_at_last);
      last = now;
      stored_at_last = l.counters().stored;
    }
    // A failed commit kept nothing and the loader backs off by itself (paused partitions), so the
    // error is only reported here.
    if (Status s = l.RunOnce(); !s.ok()) log->error("{}", s.message());
  }
  // Close() settles the batch in flight (its commit, hooks and Kafka's copy of the offsets).
  (void)l.Close();
  log->info("stopped: stored {}, rejected {}, duplicates {}, lost {}", l.counters().stored.load(),
            l.counters().rejected.load(), l.counters().duplicates.load(),
            l.consumer_counters().lost.load());
  return 0;
}

}  // namespace dcmon::cli
