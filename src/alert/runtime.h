// The alert runtime in `dcmon serve`: the engine fed from the loader after each commit, the
// alerts' current state and history in the store (restored on restart), silences and
// acknowledgements, the `alert` event on the live stream, and the notifiers.
//
// Threads: the loader thread calls OnCommit() and Tick(); they evaluate the rules in place (O(1)
// per record, docs/benchmarks.md) and hand the few state changes to the runtime's own thread
// through a bounded queue, so the loader never waits on the store writes, the stream or a
// notifier. The runtime thread is the only writer of the alert tables. The API's calls (Current,
// Acknowledge, silences) are answered from memory under a lock and written by the runtime
// thread. Lifecycle: Create (restores) → Start (threads) → Stop; thread-safe as described.
//
//   auto rt = *Runtime::Create(*RuntimeOptionsFrom(config), topology, db, NowMicros);
//   rt->Start(std::move(notifiers), [&](auto event, auto data) { hub.Publish(event, data); });
//   rt->OnCommit(batch.records, source_of_each_record);  // the loader's on_commit
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alert/alert_json.h"
#include "alert/alert_store.h"
#include "alert/engine.h"
#include "alert/notify.h"
#include "alert/rules.h"
#include "alert/silence.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/record.h"
#include "core/status.h"
#include "detect/anomaly.h"
#include "store/duckdb.h"

namespace dcmon::alert {

struct RuntimeOptions {
  bool enabled = true;     // false: serve evaluates no rules (and writes no alert tables)
  std::string rules_path;  // a rules TOML file; empty: the defaults built in (config/alerts.toml)
  EngineOptions engine;
  // State changes waiting for the runtime thread, in batches; beyond this a batch is dropped and
  // counted (the loader is never held up).
  size_t max_queued_batches = 10'000;
  // State changes are written to the store at most this often, in one transaction (the API, the
  // stream and the notifiers have them at once).
  std::chrono::milliseconds write_interval{250};

  Status Validate() const;
};
// [alert] enabled, rules, sweep_interval_s, stale_cadence_factor, max_future_s, max_source_lag_s,
// max_queued_batches, write_interval_ms (docs/alerting.md).
Result<RuntimeOptions> RuntimeOptionsFrom(const Config& config);
// The rules of `path`, or the built-in defaults when it is empty.
Result<std::vector<Rule>> RulesFrom(const std::string& path);

// [alert.alertmanager] and [alert.webhook]: url (unset: no such notifier), resend_interval_s,
// max_attempts, max_queue. `generator_url`: dcmon's URL, for Alertmanager's generatorURL.
Result<std::vector<NotifierOptions>> NotifierOptionsFrom(const Config& config,
                                                         const std::string& generator_url);

struct AlertFilter {
  std::string state = "active";              // "active" (pending and firing), "pending" or "firing"
  std::string rule, device, room, severity;  // empty: any
};

class Runtime {
 public:
  using Publish = std::function<void(std::string_view event, std::string_view data)>;

  // Loads the rules and restores from the store: the current alerts (into the engine, with their
  // start times and acknowledgements), the silences, the event cursor. `clock`: wall time (µs).
  static Result<std::unique_ptr<Runtime>> Create(RuntimeOptions options, Topology topology,
                                                 store::Database& db,
                                                 std::function<int64_t()> clock);
  ~Runtime();

  void Start(std::vector<std::unique_ptr<Notifier>> notifiers, Publish publish);
  // Writes what was handed over, then stops the notifiers.
  void Stop();

  // The loader thread, after a commit: the batch's records with each one's source (its Kafka
  // partition; empty: one source), then the detectors' anomalies of the batch for the anomaly
  // rules, and the facility KPIs (name, value) as of `kpi_micros` for the kpi rules.
  using Kpi = std::pair<std::string_view, double>;
  void OnCommit(std::span<const Record> records, std::span<const int64_t> sources = {},
                std::span<const detect::Anomaly> anomalies = {}, std::span<const Kpi> kpis = {},
                int64_t kpi_micros = 0);
  // The loader thread, when no records came for a while: staleness on the ingest clock.
  void Tick();

  std::vector<AlertStatus> Current(const AlertFilter& filter) const;
  // Errors: not found (no such pending or firing alert), unavailable (the queue is full).
  Result<AlertStatus> Acknowledge(const std::string& id, std::string by);
  Result<Silence> AddSilence(Silence silence);
  Result<Silence> ExpireSilence(const std::string& id);
  std::vector<Silence> Silences() const;  // those not ended yet
  void WriteMetrics(Exposition& e) const;

 private:
  Runtime(RuntimeOptions options, std::vector<Rule> rules, Topology topology, Engine engine,
          std::unique_ptr<store::Connection> conn, AlertStore store,
          std::function<int64_t()> clock);
  void HandOff(std::vector<AlertEvent> events);
  bool Enqueue(std::function<void()> job);
  void Run();
  void Apply(std::vector<AlertEvent> events);
  void Flush();  // writes unwritten_; runtime thread
  // Silences that began or ended since the last look: the affected alerts are re-published,
  // paged or withdrawn. Runtime thread.
  void Housekeep();
  std::string SilenceFor(const Alert& alert, int64_t now) const;  // mu_ held
  std::string ZoneUnitOf(const Alert& alert) const;
  void Page(const AlertStatus& status);

  const RuntimeOptions options_;
  const std::vector<Rule> rules_;
  const std::function<int64_t()> clock_;
  std::unordered_map<std::string, std::string> zone_unit_of_rack_;
  std::unordered_map<std::string, bool> is_unit_;

  Engine engine_;  // the loader thread's
  std::unique_ptr<store::Connection> conn_;
  AlertStore store_;  // the runtime thread's

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::map<std::string, AlertStatus> current_;  // pending and firing, by id
  std::vector<Silence> silences_;
  std::vector<std::unique_ptr<Notifier>> notifiers_;
  Publish publish_;
  std::vector<AlertStatus> unwritten_;  // the runtime thread's: changes not yet in the store
  std::thread thread_;

  std::atomic<int64_t> records_{0}, evaluation_nanos_{0}, store_errors_{0};
  std::atomic<int64_t> engine_dropped_{0}, handoff_dropped_{0};
  std::atomic<int64_t> events_pending_{0}, events_firing_{0}, events_resolved_{0};
};

}  // namespace dcmon::alert
