// The alert engine: per device a slot per matching rule, each a small state machine.
#include "alert/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dcmon::alert {

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "?";
}

Status EngineOptions::Validate() const {
  if (sweep_interval_s < 1 || sweep_interval_s > 3600)
    return InvalidArgument(
        fmt::format("alert.sweep_interval_s: {} is out of range 1..3600", sweep_interval_s));
  if (stale_cadence_factor < 1 || stale_cadence_factor > 100)
    return InvalidArgument(
        fmt::format("alert.stale_cadence_factor: {} is out of range 1..100", stale_cadence_factor));
  if (max_queued_events < 1) return InvalidArgument("alert.max_queued_events: must be at least 1");
  if (max_future_s < 0 || max_future_s > 86400)
    return InvalidArgument(
        fmt::format("alert.max_future_s: {} is out of range 0..86400", max_future_s));
  if (max_source_lag_s < 1 || max_source_lag_s > 86400)
    return InvalidArgument(
        fmt::format("alert.max_source_lag_s: {} is out of range 1..86400", max_source_lag_s));
  return Status::Ok();
}

Result<Engine> Engine::Create(std::vector<Rule> rules, Topology topology, EngineOptions options,
                              std::function<int64_t()> clock) {
  if (Status s = options.Validate(); !s.ok()) return s;
  for (const Rule& r : rules) {
    if (Status s = r.Validate(); !s.ok()) return s;
  }
  if (!clock) return InvalidArgument("alert engine: clock: must be set");
  return Engine(std::move(rules), std::move(topology), options, std::move(clock));
}

Engine::Engine(std::vector<Rule> rules, Topology topology, EngineOptions options,
               std::function<int64_t()> clock)
    : rules_(std::move(rules)),
      options_(options),
      clock_(std::move(clock)),
      topology_(std::move(topology)),
      sources_(options_.max_source_lag_s * 1'000'000) {
  for (size_t i = 0; i < topology_.zones.size(); ++i) {
    zone_of_unit_[topology_.zones[i].crah] = i;
    for (const std::string& rack : topology_.zones[i].racks)
      zone_unit_of_rack_[RackKey(topology_.zones[i].room, rack)] = topology_.zones[i].crah;
  }
  last_sweep_ingest_ = clock_();
}

namespace {
std::string RestoreKey(std::string_view rule, std::string_view device, std::string_view clock) {
  return fmt::format("{}\n{}\n{}", rule, device, clock);
}
}  // namespace

void Engine::Restore(std::vector<Alert> alerts) {
  for (Alert& a : alerts) {
    auto rule =
        std::find_if(rules_.begin(), rules_.end(), [&](const Rule& r) { return r.name == a.rule; });
    if (rule == rules_.end() || a.state == AlertState::kResolved) continue;
    if (a.state == AlertState::kFiring) {
      if (rule->site_incident) ++site_incidents_[rule->name];
      if (rule->zone_incident && zone_of_unit_.count(a.device)) inhibited_zone_[a.device] = a.rule;
    }
    std::string key = RestoreKey(a.rule, a.device, a.clock);
    restored_.insert_or_assign(std::move(key), std::move(a));
  }
}

Engine::Device& Engine::DeviceFor(const Record& record) {
  std::string_view id = DeviceIdOf(record);
  auto it = devices_by_id_.find(id);
  if (it != devices_by_id_.end() && devices_[it->second].placed) return devices_[it->second];
  // A new device, or one known so far only from an anomaly (DeviceById).
  const size_t index = it != devices_by_id_.end() ? it->second : devices_.size();
  if (it == devices_by_id_.end()) {
    devices_by_id_.emplace(std::string(id), index);
    devices_.push_back(Device{.id = std::string(id)});
  }
  Device& d = devices_[index];
  d.placed = true;
  const Placement& p =
      std::visit([](const auto& r) -> const Placement& { return r.placement; }, record);
  d.room = p.room;
  d.rack = p.rack;
  d.rack_key = p.rack.empty() ? std::string() : RackKey(p.room, p.rack);
  if (const auto* s = std::get_if<SensorReading>(&record)) d.position = s->position;
  // Sensor rules first: their inhibition must be in place when the facility rules run.
  for (Category c : {Category::kSensor, Category::kFacility}) {
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (rules_[i].category != c || !rules_[i].Matches(record)) continue;
      d.slots.push_back(Slot{.rule = i});
      if (rules_[i].kind == RuleKind::kStale)
        d.slots.push_back(Slot{.rule = i, .ingest_clock = true});
    }
  }
  for (Slot& s : d.slots) Reseat(d, s);
  if (!d.rack.empty()) devices_of_rack_[d.rack_key].push_back(index);
  return d;
}

void Engine::Reseat(Device& d, Slot& s) {
  if (restored_.empty() || s.alert) return;
  const Rule& rule = rules_[s.rule];
  std::string_view clock = rule.kind != RuleKind::kStale ? "" : s.ingest_clock ? "ingest" : "event";
  auto it = restored_.find(RestoreKey(rule.name, d.id, clock));
  if (it == restored_.end()) return;
  s.alert = std::move(it->second);
  restored_.erase(it);
  if (s.alert->state == AlertState::kFiring && rule.category == Category::kSensor &&
      d.sensor_firing++ == 0)
    d.sensor_inhibitor = rule.name;
}

Engine::Device& Engine::DeviceById(std::string_view id) {
  auto it = devices_by_id_.find(id);
  if (it != devices_by_id_.end()) return devices_[it->second];
  devices_by_id_.emplace(std::string(id), devices_.size());
  devices_.push_back(Device{.id = std::string(id), .placed = false});
  return devices_.back();
}

void Engine::ObserveAnomaly(const detect::Anomaly& anomaly) {
  ++counters_.anomalies;
  const int64_t t = anomaly.timestamp_micros;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i].MatchesAnomaly(anomaly)) continue;
    Device& d = DeviceById(anomaly.device);
    if (!d.position.starts_with(rules_[i].select.position_prefix)) continue;
    auto s =
        std::find_if(d.slots.begin(), d.slots.end(), [i](const Slot& x) { return x.rule == i; });
    if (s == d.slots.end()) {
      s = d.slots.insert(d.slots.end(), Slot{.rule = i});
      Reseat(d, *s);
    }
    if (s->seen && t < s->last_change) continue;  // older than the last one: it changes nothing
    s->seen = true;
    s->last_change = t;
    ++counters_.evaluations;
    Step(d, *s, t, /*trouble=*/true, /*clear=*/false, anomaly.score);
    s->clear_since = t;  // an onset is an instant: the clear condition holds from then on
  }
}

void Engine::ObserveKpi(std::string_view name, double value, int64_t event_micros) {
  // KPIs are devices of their own, keyed apart from record devices so no id can collide.
  const std::string key = fmt::format("kpi/{}", name);
  auto it = devices_by_id_.find(key);
  if (it == devices_by_id_.end()) {
    Device d;
    d.id = std::string(name);
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (rules_[i].kind == RuleKind::kKpi && rules_[i].select.kpi == name)
        d.slots.push_back(Slot{.rule = i});
    }
    it = devices_by_id_.emplace(key, devices_.size()).first;
    devices_.push_back(std::move(d));
    for (Slot& s : devices_.back().slots) Reseat(devices_.back(), s);
  }
  Device& d = devices_[it->second];
  if (!std::isfinite(value) || event_micros <= d.last_event) return;
  d.last_event = event_micros;
  d.last_ingest = clock_();
  for (Slot& s : d.slots) {
    ++counters_.evaluations;
    Evaluate(d, s, event_micros, value);
  }
}

void Engine::ObserveBatch(std::span<const Record> records, std::span<const int64_t> sources) {
  for (size_t i = 0; i < records.size(); ++i)
    Observe(records[i], i < sources.size() ? sources[i] : 0);
}

void Engine::Observe(const Record& record, int64_t source) {
  ++counters_.records;
  const int64_t t = std::visit([](const auto& r) { return r.timestamp_micros; }, record);
  const int64_t now = clock_();
  Device& d = DeviceFor(record);
  d.last_ingest = now;
  const bool late = d.last_event != 0 && t <= d.last_event;
  if (!late) {
    if (d.last_event != 0 && (d.cadence == 0 || t - d.last_event < d.cadence))
      d.cadence = t - d.last_event;
    d.last_event = t;
    // A device with a wrong clock (a year ahead) must not make every other device look silent.
    sources_.Advance(source, std::min(t, now + options_.max_future_s * 1'000'000), now);
    watermark_ = sources_.Mark(now);
  } else {
    ++counters_.late_records;
  }
  for (Slot& s : d.slots) {
    const Rule& rule = rules_[s.rule];
    if (rule.kind == RuleKind::kStale) {
      EvaluateStale(d, s);
      continue;
    }
    if (rule.kind == RuleKind::kAnomaly) continue;  // evaluated on anomalies and sweeps
    if (late) continue;  // event-time rules only move forward: late data cannot flap them
    double value;
    if (!rule.Read(record, value)) continue;
    ++counters_.evaluations;
    Evaluate(d, s, t, value);
  }
  const int64_t every = options_.sweep_interval_s * 1'000'000;
  if (now - last_sweep_ingest_ >= every || watermark_ - last_sweep_event_ >= every) Tick();
}

void Engine::Evaluate(Device& d, Slot& s, int64_t t, double value) {
  const Rule& rule = rules_[s.rule];
  switch (rule.kind) {
    case RuleKind::kThreshold:
    case RuleKind::kKpi: {
      bool trouble = rule.below ? value < rule.level : value > rule.level;
      bool clear = rule.below ? value >= rule.clear : value <= rule.clear;
      Step(d, s, t, trouble, clear, value);
      break;
    }
    case RuleKind::kRate: {
      while (!s.max_q.empty() && s.max_q.back().second <= value) s.max_q.pop_back();
      while (!s.min_q.empty() && s.min_q.back().second >= value) s.min_q.pop_back();
      s.max_q.emplace_back(t, value);
      s.min_q.emplace_back(t, value);
      while (s.max_q.front().first <= t - rule.window_micros) s.max_q.pop_front();
      while (s.min_q.front().first <= t - rule.window_micros) s.min_q.pop_front();
      double moved = s.max_q.front().second - s.min_q.front().second;
      Step(d, s, t, moved > rule.delta, moved <= rule.delta, moved);
      break;
    }
    case RuleKind::kStuck: {
      // A gap in the data (a dropout) restarts the count: flat means flat while reporting.
      const bool gap = t - s.last_sample > rule.window_micros / 2;
      s.last_sample = t;
      if (!s.seen || value != s.last_value || gap) {
        s.seen = true;
        s.last_value = value;
        s.last_change = t;
      }
      bool trouble = t - s.last_change >= rule.window_micros && PeersMoved(d, s);
      Step(d, s, t, trouble, !trouble, static_cast<double>(t - s.last_change) / 1e6);
      break;
    }
    case RuleKind::kStale:
    case RuleKind::kAnomaly:
      break;
  }
}

bool Engine::PeersMoved(const Device& d, const Slot& s) const {
  if (d.rack.empty()) return true;
  int others = 0, moved = 0;
  for (size_t i : devices_of_rack_.at(d.rack_key)) {
    const Device& peer = devices_[i];
    if (&peer == &d) continue;
    for (const Slot& p : peer.slots) {
      if (p.rule != s.rule || !p.seen) continue;
      ++others;
      // A sensor with a sensor problem is no evidence that the rack's air moved.
      moved += p.last_change > s.last_change && peer.sensor_firing == 0;
    }
  }
  return others == 0 || 2 * moved > others;
}

void Engine::EvaluateStale(Device& d, Slot& s) {
  const Rule& rule = rules_[s.rule];
  const int64_t after = std::max(rule.after_micros, options_.stale_cadence_factor * d.cadence);
  const int64_t now = s.ingest_clock ? clock_() : watermark_;
  const int64_t last = s.ingest_clock ? d.last_ingest : d.last_event;
  // Until two samples gave the device's cadence, its silence cannot be judged.
  if (d.cadence == 0) return;
  const int64_t silent = now - last;
  // On the event clock a silence ends only with the device's own data: the watermark moves back
  // when a source arrives behind the others (a partition first read, or one back within the lag).
  const bool heard = s.ingest_clock || !s.alert || last > s.alert->pending_since_micros;
  // Pending since the last sample: the silence began there, not when the sweep noticed it.
  Step(d, s, now, silent >= after, silent < after && heard, static_cast<double>(silent) / 1e6,
       last);
}

void Engine::EvaluateAnomaly(Device& d, Slot& s) {
  if (s.alert) Step(d, s, watermark_, /*trouble=*/false, /*clear=*/true, s.alert->value);
}

void Engine::Step(Device& d, Slot& s, int64_t t, bool trouble, bool clear, double value,
                  std::optional<int64_t> since) {
  const Rule& rule = rules_[s.rule];
  if (!s.alert) {
    if (!trouble) return;
    Alert& a = s.alert.emplace();
    a.rule = rule.name;
    a.device = d.id;
    if (rule.kind == RuleKind::kStale) a.clock = s.ingest_clock ? "ingest" : "event";
    a.category = rule.category;
    a.severity = rule.severity;
    a.pending_since_micros = since.value_or(t);
    a.value = value;
    a.labels = rule.labels;
    a.labels["alertname"] = rule.name;
    a.labels["severity"] = rule.severity;
    a.labels["category"] = std::string(CategoryName(rule.category));
    a.labels["device"] = d.id;
    if (!d.room.empty()) a.labels["room"] = d.room;
    if (!d.rack.empty()) a.labels["rack"] = d.rack;
    if (!a.clock.empty()) a.labels["clock"] = a.clock;
    a.annotations["runbook"] = rule.runbook;
    if (!rule.summary.empty()) a.annotations["summary"] = rule.summary;
    Emit(AlertState::kPending, a);
  }
  Alert& a = *s.alert;
  if (a.state == AlertState::kPending) {
    if (!trouble) {
      s.alert.reset();  // a pending alert that stops holding is dropped, as in Prometheus
      return;
    }
    a.value = value;
    if (t - a.pending_since_micros >= rule.for_micros) Fire(d, s, t);
    return;
  }
  if (!clear) {
    s.clear_since.reset();
    return;
  }
  if (!s.clear_since) s.clear_since = t;
  if (t - *s.clear_since >= rule.keep_firing_for_micros) Resolve(d, s, t);
}

std::string Engine::InhibitorFor(const Device& d, const Rule& rule, int64_t t) const {
  // One sensor problem per device at a time: a unit mix-up is not also a spike.
  if (rule.category == Category::kSensor) return d.sensor_firing > 0 ? d.sensor_inhibitor : "";
  if (rule.site_incident) return "";
  if (!site_incidents_.empty()) return site_incidents_.begin()->first;
  for (const auto& [name, until] : site_settling_) {
    if (t < until) return name;
  }
  if (rule.zone_incident) return "";
  if (d.sensor_firing > 0) return d.sensor_inhibitor;
  if (auto z = zone_unit_of_rack_.find(d.rack_key); z != zone_unit_of_rack_.end()) {
    if (inhibited_zone_.count(z->second)) return z->second;
    if (auto i = zone_settling_.find(z->second); i != zone_settling_.end() && t < i->second)
      return z->second;
  }
  return "";
}

void Engine::Fire(Device& d, Slot& s, int64_t t) {
  const Rule& rule = rules_[s.rule];
  Alert& a = *s.alert;
  a.state = AlertState::kFiring;
  a.starts_at_micros = t;
  a.inhibited_by = InhibitorFor(d, rule, t);
  if (rule.category == Category::kSensor && d.sensor_firing++ == 0) d.sensor_inhibitor = rule.name;
  if (rule.zone_incident) {
    if (auto z = zone_of_unit_.find(d.id); z != zone_of_unit_.end()) {
      const Topology::Zone& zone = topology_.zones[z->second];
      a.affected_racks = zone.racks;
      std::string racks;
      for (const std::string& r : zone.racks) racks += (racks.empty() ? "" : ",") + r;
      a.annotations["affected_racks"] = racks;
      inhibited_zone_[d.id] = rule.name;
      SetZoneInhibition(d.id, d.id);
    }
  }
  if (rule.site_incident && site_incidents_[rule.name]++ == 0) SetSiteInhibition(rule.name);
  Emit(AlertState::kFiring, a);
}

void Engine::Resolve(Device& d, Slot& s, int64_t t) {
  const Rule& rule = rules_[s.rule];
  Alert& a = *s.alert;
  a.state = AlertState::kResolved;
  a.ends_at_micros = t;
  if (rule.category == Category::kSensor) --d.sensor_firing;
  // A settling incident keeps what it muted muted; without settling, it lifts it now.
  if (rule.zone_incident && inhibited_zone_.erase(d.id) > 0) {
    if (rule.settle_micros > 0) {
      zone_settling_[d.id] = t + rule.settle_micros;
    } else {
      SetZoneInhibition(d.id, "");
    }
  }
  if (rule.site_incident && --site_incidents_[rule.name] == 0) {
    site_incidents_.erase(rule.name);
    if (rule.settle_micros > 0) {
      site_settling_[rule.name] = t + rule.settle_micros;
    } else {
      SetSiteInhibition(rule.name);
    }
  }
  Emit(AlertState::kResolved, a);
  s.alert.reset();
  s.clear_since.reset();
}

// Marks (or unmarks, with `by` empty) the firing facility alerts of the zone's racks. Runs when a
// zone incident starts or ends: O(racks of the zone × their slots), not per record.
void Engine::SetZoneInhibition(const std::string& unit, const std::string& by) {
  const Topology::Zone& zone = topology_.zones[zone_of_unit_.at(unit)];
  for (const std::string& rack : zone.racks) {
    auto of_rack = devices_of_rack_.find(RackKey(zone.room, rack));
    if (of_rack == devices_of_rack_.end()) continue;
    for (size_t i : of_rack->second) {
      for (Slot& s : devices_[i].slots) {
        const Rule& rule = rules_[s.rule];
        if (!s.alert || rule.category != Category::kFacility || rule.zone_incident) continue;
        if (by.empty() ? s.alert->inhibited_by == unit : s.alert->inhibited_by.empty())
          s.alert->inhibited_by = by;
      }
    }
  }
}

// Marks every facility alert when site incident `by` starts; when it ends (no longer in
// site_incidents_), lifts what it muted.
void Engine::SetSiteInhibition(const std::string& by) {
  const bool starting = site_incidents_.count(by) > 0;
  for (Device& d : devices_) {
    for (Slot& s : d.slots) {
      const Rule& rule = rules_[s.rule];
      if (!s.alert || rule.category != Category::kFacility || rule.site_incident) continue;
      if (starting) {
        s.alert->inhibited_by = by;
      } else if (s.alert->inhibited_by == by) {
        s.alert->inhibited_by = InhibitorFor(d, rule, s.alert->starts_at_micros);
      }
    }
  }
}

void Engine::Tick() {
  ++counters_.sweeps;
  last_sweep_ingest_ = clock_();
  last_sweep_event_ = watermark_;
  for (Device& d : devices_) {
    for (Slot& s : d.slots) {
      if (rules_[s.rule].kind == RuleKind::kStale) EvaluateStale(d, s);
      if (rules_[s.rule].kind == RuleKind::kAnomaly) EvaluateAnomaly(d, s);
    }
  }
}

void Engine::Emit(AlertState state, const Alert& alert) {
  if (events_.size() >= options_.max_queued_events) {
    ++counters_.dropped_events;
    return;
  }
  events_.push_back(AlertEvent{state, alert});
}

std::vector<AlertEvent> Engine::TakeEvents() { return std::exchange(events_, {}); }

std::vector<Alert> Engine::Active() const {
  std::vector<Alert> out;
  for (const Device& d : devices_) {
    for (const Slot& s : d.slots) {
      if (s.alert) out.push_back(*s.alert);
    }
  }
  for (const auto& [key, a] : restored_) out.push_back(a);
  return out;
}

}  // namespace dcmon::alert
