// The alert engine: evaluates rules (rules.h) on records as they land, in event time, and keeps
// each alert's lifecycle pending → firing → resolved. Topology-aware: a CRAH unit's alert is one
// incident naming the racks of its zone, and the per-rack facility alerts it explains are
// inhibited; a sensor alert on a device inhibits that device's facility alerts (a broken sensor
// is not a hot rack). Cost per record: one hash lookup, then O(1) amortised per matching rule.
// Staleness is swept at most every `sweep_interval_s` of ingest or event time. The event clock is
// the watermark of the records' sources (Kafka partitions, detect/watermark.h): during a backfill
// the partitions are read minutes apart in event time, and a device on a lagging one is not silent.
//
// Not thread-safe: one thread (the loader, after each commit) calls Observe/Tick.
//
//   Engine engine = *Engine::Create(*LoadRules("config/alerts.toml"), topology, {}, NowMicros);
//   engine.ObserveBatch(batch.records, source_of_each_record);
//   for (const AlertEvent& e : engine.TakeEvents()) notify(e);
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "alert/rules.h"
#include "core/record.h"
#include "core/status.h"
#include "core/topology.h"
#include "detect/anomaly.h"
#include "detect/watermark.h"

namespace dcmon::alert {

struct EngineOptions {
  // Staleness is evaluated at most this often, in ingest or event time.
  int64_t sweep_interval_s = 10;
  // A device is stale after max(after_s, this × its cadence).
  int64_t stale_cadence_factor = 3;
  // Events not yet taken; beyond this they are counted as dropped, never blocking.
  size_t max_queued_events = 100'000;
  // Clock skew allowed between devices and the engine: event times past ingest time + this do not
  // advance the event clock (keep it below the rules' after_s).
  int64_t max_future_s = 60;
  // A source (Kafka partition) this far behind the newest in event time, and not advanced for as
  // long in ingest time, stops holding back the event clock (its devices may be silent for real).
  int64_t max_source_lag_s = 600;

  Status Validate() const;
};

enum class AlertState { kPending, kFiring, kResolved };
std::string_view AlertStateName(AlertState state);

struct Alert {
  std::string rule;    // alertname
  std::string device;  // the device it is about
  std::string clock;   // stale rules: "event" or "ingest"; empty otherwise
  Category category = Category::kFacility;
  std::string severity;
  AlertState state = AlertState::kPending;
  int64_t pending_since_micros = 0;  // event time (ingest time for ingest-clock staleness)
  int64_t starts_at_micros = 0;      // when it fired
  int64_t ends_at_micros = 0;        // when it resolved
  double value = 0;                  // the number that fired it (the silence in s for staleness)
  // Muted by another alert that explains it: a zone incident ("room-1-crah-2") or a sensor
  // alert on the same device ("SensorStuck"). Inhibited alerts are kept but not paged.
  std::string inhibited_by;
  std::vector<std::string> affected_racks;    // zone incidents: the racks of the unit's zone
  std::map<std::string, std::string> labels;  // alertname, severity, category, device, room, rack…
  std::map<std::string, std::string> annotations;  // runbook, summary
};

struct AlertEvent {
  AlertState state;  // the state the alert entered
  Alert alert;
};

struct EngineCounters {
  int64_t records = 0;
  int64_t late_records = 0;  // older than the device's newest: not evaluated (no flaps)
  int64_t evaluations = 0;   // rule evaluations (record × matching rule)
  int64_t sweeps = 0;
  int64_t dropped_events = 0;
  int64_t anomalies = 0;  // anomalies observed (ObserveAnomaly)
};

class Engine {
 public:
  // `clock` gives ingest time in microseconds (NowMicros in production, a fake in tests).
  static Result<Engine> Create(std::vector<Rule> rules, Topology topology, EngineOptions options,
                               std::function<int64_t()> clock);

  // One record in arrival order from `source` (any id per ordered input: a Kafka partition).
  void Observe(const Record& record, int64_t source = 0);
  // The records of a batch, in order, with each one's source (empty: one source).
  void ObserveBatch(std::span<const Record> records, std::span<const int64_t> sources = {});
  // A facility KPI (`name`: "pue_hour", "cooling_share", …) at event time `event_micros`, for the
  // kpi rules that watch it. Unknown (NaN) and out-of-order values are not evaluated.
  void ObserveKpi(std::string_view name, double value, int64_t event_micros);
  // An anomaly from the detectors (detect/), after the records of its batch: each `anomaly` rule
  // it matches fires at once for the blamed device (a sensor rule inhibits that device's facility
  // alerts, as any sensor alert does) and resolves keep_firing_for after the device's last match.
  void ObserveAnomaly(const detect::Anomaly& anomaly);
  // Evaluates staleness now (Observe does so every sweep_interval_s); call it when no records
  // arrive, so that silence is noticed.
  void Tick();

  // Re-seats the pending and firing alerts read back from the store after a restart, keeping
  // their pending_since, starts_at and inhibition: a restart does not re-run `for` periods or
  // page again. Each takes its place when its device next reports and is in Active() meanwhile;
  // alerts of rules no longer configured are dropped. Call before the first Observe.
  void Restore(std::vector<Alert> alerts);

  std::vector<AlertEvent> TakeEvents();
  // Pending and firing alerts.
  std::vector<Alert> Active() const;
  const EngineCounters& counters() const { return counters_; }

 private:
  struct Slot {
    size_t rule;
    bool ingest_clock = false;  // stale rules have one slot per clock
    std::optional<Alert> alert;
    std::optional<int64_t> clear_since;
    // rate: monotonic deques of (time, value) over the window
    std::deque<std::pair<int64_t, double>> max_q, min_q;
    // stuck; anomaly: last_change is the last matching anomaly
    int64_t last_sample = 0;
    double last_value = 0;
    int64_t last_change = 0;
    bool seen = false;
  };
  struct Device {
    std::string id, room, rack;
    std::string rack_key;  // RackKey(room, rack); empty without a rack
    std::string position;  // sensors: "inlet_top", ...; empty for cooling units
    int64_t last_event = 0, last_ingest = 0;
    int64_t cadence = 0;      // smallest gap seen between event times
    std::vector<Slot> slots;  // sensor rules first, so their inhibition applies at once
    int sensor_firing = 0;    // firing sensor alerts: facility alerts of the device are inhibited
    std::string sensor_inhibitor;
    bool placed = true;  // false while known only from an anomaly: room, rack and slots come
                         // with its first record
  };

  Engine(std::vector<Rule> rules, Topology topology, EngineOptions options,
         std::function<int64_t()> clock);
  Device& DeviceFor(const Record& record);
  Device& DeviceById(std::string_view id);
  // Gives a new slot the alert Restore read back for it, if any.
  void Reseat(Device& d, Slot& s);
  void Evaluate(Device& d, Slot& s, int64_t t, double value);
  // Stuck rules: whether more than half of the other sensors of the device's rack (same rule)
  // changed since this one last did. A rack in perfectly steady air repeats every value and is not
  // stuck; one sensor that moves alone (drifting, broken) does not make its steady peers stuck. A
  // device without a rack is judged alone. O(sensors of the rack).
  bool PeersMoved(const Device& d, const Slot& s) const;
  void EvaluateStale(Device& d, Slot& s);
  // Anomaly rules: resolves once keep_firing_for passed (in event time) since the last anomaly.
  void EvaluateAnomaly(Device& d, Slot& s);
  // The shared lifecycle: `trouble` starts/keeps pending and firing, `clear` counts toward resolve.
  // `since`: when the trouble began, if before `t` (staleness).
  void Step(Device& d, Slot& s, int64_t t, bool trouble, bool clear, double value,
            std::optional<int64_t> since = std::nullopt);
  void Fire(Device& d, Slot& s, int64_t t);
  void Resolve(Device& d, Slot& s, int64_t t);
  std::string InhibitorFor(const Device& d, const Rule& rule, int64_t t) const;
  void SetZoneInhibition(const std::string& unit, const std::string& by);
  void SetSiteInhibition(const std::string& by);
  void Emit(AlertState state, const Alert& alert);

  std::vector<Rule> rules_;
  EngineOptions options_;
  std::function<int64_t()> clock_;
  // Looked up by the record's string_view without building a std::string per record.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_map<std::string, size_t, IdHash, std::equal_to<>> devices_by_id_;
  std::vector<Device> devices_;
  std::unordered_map<std::string, size_t> zone_of_unit_;  // unit -> index in topology_.zones
  std::unordered_map<std::string, std::string> zone_unit_of_rack_;        // by RackKey
  std::unordered_map<std::string, std::vector<size_t>> devices_of_rack_;  // by RackKey
  std::unordered_map<std::string, std::string> inhibited_zone_;  // unit -> its firing incident
  std::map<std::string, int> site_incidents_;  // firing site incidents by rule name
  // Resolved incidents still settling: unit (or site rule name) -> until (event time).
  std::unordered_map<std::string, int64_t> zone_settling_;
  std::map<std::string, int64_t> site_settling_;
  Topology topology_;
  detect::SourceWatermark sources_;  // each source's newest event time
  int64_t watermark_ = 0;            // the event clock: sources_.Mark()
  int64_t last_sweep_ingest_ = 0, last_sweep_event_ = 0;
  std::vector<AlertEvent> events_;
  EngineCounters counters_;
  // Restored alerts waiting for their device's first record, by RestoreKey.
  std::map<std::string, Alert> restored_;
};

}  // namespace dcmon::alert
