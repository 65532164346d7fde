#include "detect/facility_detector.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "detect/score.h"

namespace dcmon::detect {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMicros = 1'000'000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Magnus (DOMAIN.md): the dew point of air at `t_c` and `rh` percent.
double DewPoint(double t_c, double rh) {
  constexpr double a = 17.62, b = 243.12;
  const double g = std::log(std::max(rh, 0.1) / 100.0) + a * t_c / (b + t_c);
  return b * g / (a - g);
}

// Onset detection with hysteresis: opens when a score reaches the alert level, closes below the
// clear level.
struct Gate {
  bool open = false;
  bool Onset(double score) {
    if (open) {
      if (score < kClearLevel) open = false;
      return false;
    }
    if (score >= kAlertLevel) open = true;
    return open;
  }
};

enum class Role { kOther, kInlet, kExhaust, kHumidity, kRackPower, kFacilityMeter, kItMeter };

// Neighbours that must keep changing for a sensor to count as stuck: temperatures, humidity, power.
int ChangeGroup(Role role) {
  return role == Role::kHumidity ? 1 : role == Role::kRackPower ? 2 : 0;
}

struct Rack;

struct Sensor {
  std::string id;
  Role role = Role::kOther;
  int height = 0;  // inlets: 0 bottom, 1 middle, 2 top
  Rack* rack = nullptr;
  SeriesDetector series;  // own level (kOther, power, meters) or relation residual (rack sensors)
  SensorHealth health;
  // What it measures (rack or not): a jump beyond this in one sample is implausible; 0: none.
  double jump_limit = 0;
  std::string_view jump_unit;  // "degC", "%RH"
  double last = kNaN;
  int64_t last_micros = kNever;
  Gate step, drift, health_gate;
  bool silent = false;
  int64_t run_start_micros = kNever;    // when the value last changed
  int implausible_run = 0;              // consecutive samples refused as implausible
  int64_t implausible_micros = kNever;  // the last one
  double offset = kNaN;  // inlets: inlet - supply, slow mean: where it sits in its zone's air
  int64_t offset_micros = kNever;
  double relation_drift_z = 0;       // its relation's last slow departure (rack sensors)
  int64_t accepted_micros = kNever;  // when its relation last took a departure as its new level
};

struct Crah;

struct Rack {
  std::string id;
  Crah* crah = nullptr;
  double inlet[3] = {kNaN, kNaN, kNaN};
  double exhaust = kNaN;
  double power_w = kNaN;
  double airflow_k = kNaN;  // learned (exhaust - mean inlet) per kW
  Sensor* pdu = nullptr;
  Sensor* exhaust_sensor = nullptr;
  Sensor* inlet_sensor[3] = {};
  int64_t inlet_micros[3] = {kNever, kNever, kNever};
  double pending_rh = kNaN;  // a humidity sample waiting for the middle inlet of the same instant
  int64_t pending_rh_micros = kNever;
  Sensor* humidity_sensor = nullptr;
  double MeanInlet() const {
    double s = 0;
    int n = 0;
    for (double v : inlet) {
      if (!std::isnan(v)) s += v, ++n;
    }
    return n ? s / n : kNaN;
  }
};

struct Room {
  double dew_point = kNaN;  // robust running mean over the room's racks
  std::vector<Crah*> crahs;
};

struct Crah {
  std::string id;
  Room* room = nullptr;
  double supply = kNaN;
  double zone_power_w = 0;
  double delta_t_k = kNaN;  // learned ((return - supply) * fan) per kW of zone IT power
  bool running = true;
  bool seen = false;
  int64_t last_micros = kNever;
  std::vector<const Sensor*> sensors;    // the zone's rack sensors: the neighbours of a stuck one
  std::vector<const Sensor*> inlets[3];  // the zone's inlets by height: its cold aisle
  int64_t upset_micros = kNever;         // last time it was stopped or its supply air was anomalous
  int64_t stopped_micros = kNever;       // last time it was stopped
  SeriesDetector supply_series, delta_t_series;
  Gate stopped, supply_step, supply_drift, delta_t_drift;
};

}  // namespace

struct FacilityDetector::State {
  FacilityDetectorOptions options;
  Topology topology;
  AnomalyCallback on_anomaly;
  std::unordered_map<std::string, std::unique_ptr<Sensor>> sensors;
  std::unordered_map<std::string, std::unique_ptr<Rack>> racks;  // by RackKey
  std::unordered_map<std::string, std::unique_ptr<Crah>> crahs;
  std::unordered_map<std::string, std::unique_ptr<Room>> rooms;
  std::unordered_map<std::string, int64_t> last_onset;  // device + '\0' + detector
  SeriesOptions temperature_series;  // options.series with the temperature spread floor
  SeriesOptions power_series;        // options.series with the IT power spread floor
  SeriesDetector plant_series, pue_series;
  // Relation onsets of rack sensors wait until their zone's unit reported for the same instant, so
  // a unit that stopped at that instant is known and blamed (records of one instant arrive in any
  // order).
  struct Onset {
    Sensor* sensor;
    const Sensor* other;  // the relation's other input, blamed when it broke its own relation
    int64_t t;
    double residual;
    SeriesPoint point;
    double drift_score;
    bool step, drift;
    DetectorKind kind;
    std::string relation;
  };
  static constexpr size_t kMaxPending = 4096;
  std::deque<Onset> pending;
  std::vector<double> peers;  // scratch for ZoneShift
  Gate plant_step, pue_drift, utility_lost;
  int64_t plant_upset_micros = kNever;
  double it_w = kNaN;
  int64_t now_micros = kNever;
  int64_t next_silence_check = kNever;
  double record_score = 0;  // the highest score any detector gave the record being observed

  void Note(double score) { record_score = std::max(record_score, score); }

  void Report(std::string device, int64_t t, double value, double score, DetectorKind kind,
              Category category, std::string explanation) {
    std::string key = device;
    key.push_back('\0');
    key.append(DetectorName(kind));
    auto [it, fresh] = last_onset.try_emplace(std::move(key), kNever);
    if (!fresh && t - it->second < static_cast<int64_t>(options.repeat_after_s * kMicros)) return;
    it->second = t;
    on_anomaly(Anomaly{.device = std::move(device),
                       .timestamp_micros = t,
                       .value = value,
                       .score = std::min(1.0, score),
                       .detector = kind,
                       .category = category,
                       .explanation = std::move(explanation)});
  }

  bool Recent(int64_t when, int64_t t) const {
    return t - when <= static_cast<int64_t>(options.upset_hold_s * kMicros);
  }

  // The upstream device to blame for a rack's relation breaking, or null: its own zone's unit if
  // that is upset, else any stopped or upset unit of the room, else the plant.
  const std::string* Upstream(const Rack* rack, int64_t t) const {
    if (rack == nullptr || rack->crah == nullptr) return nullptr;
    if (!rack->crah->running || Recent(rack->crah->upset_micros, t)) return &rack->crah->id;
    for (const Crah* c : rack->crah->room->crahs) {
      if (!c->running || Recent(c->upset_micros, t)) return &c->id;
    }
    if (Recent(plant_upset_micros, t)) return &topology.plant;
    return nullptr;
  }

  // A stopped or recently upset CRAH anywhere: the plant's load, the PUE and the other units'
  // air follow it.
  const std::string* StoppedUnit(int64_t t) const {
    for (const auto& [id, c] : crahs) {
      if (!c->running || Recent(c->stopped_micros, t)) return &c->id;
    }
    return nullptr;
  }

  Sensor& SensorFor(const SensorReading& r) {
    auto [it, fresh] = sensors.try_emplace(r.device_id);
    if (!fresh) return *it->second;
    const bool humidity = r.measurement_type == "humidity";
    std::span<const double> rails;
    if (humidity) rails = kHumidityRails;
    if (r.measurement_type == "temperature") rails = kTemperatureRails;
    it->second = std::make_unique<Sensor>(Sensor{.id = r.device_id,
                                                 .series = SeriesDetector(options.series),
                                                 .health = SensorHealth(options.health, rails)});
    Sensor& s = *it->second;
    if (humidity) {
      s.jump_limit = options.implausible_jump_rh;
      s.jump_unit = "%RH";
    } else if (r.measurement_type == "temperature") {
      s.jump_limit = options.implausible_jump_c;
      s.jump_unit = "degC";
    }
    if (r.device_id == topology.facility_meter) s.role = Role::kFacilityMeter;
    if (r.device_id == topology.it_meter) {
      s.role = Role::kItMeter;
      s.series = SeriesDetector(power_series);
    }
    auto rack = racks.find(RackKey(r.placement.room, r.placement.rack));
    if (rack == racks.end()) return s;
    s.rack = rack->second.get();
    if (r.measurement_type == "power") {
      s.role = Role::kRackPower;
      s.rack->pdu = &s;
    } else if (humidity) {
      s.role = Role::kHumidity;
    } else if (r.position == "exhaust") {
      s.role = Role::kExhaust;
      s.rack->exhaust_sensor = &s;
    } else if (r.position.starts_with("inlet_")) {
      s.role = Role::kInlet;
      s.height = r.position == "inlet_bottom" ? 0 : r.position == "inlet_middle" ? 1 : 2;
      s.rack->inlet_sensor[s.height] = &s;
    }
    if (s.role == Role::kHumidity) s.rack->humidity_sensor = &s;
    if (s.rack->crah != nullptr) s.rack->crah->sensors.push_back(&s);
    if (s.role == Role::kInlet && s.rack->crah != nullptr)
      s.rack->crah->inlets[s.height].push_back(&s);
    // Rack power is judged on its level above the workload floor; the other rack sensors by
    // relations that are temperature differences (the dew point's too).
    s.series = SeriesDetector(s.role == Role::kRackPower ? power_series : temperature_series);
    return s;
  }

  void ObserveSensor(const SensorReading& r) {
    Sensor& s = SensorFor(r);
    const int64_t t = r.timestamp_micros;
    if (t <= s.last_micros) return;  // a duplicate or a reordered sample: already judged
    const double prev = s.last;
    const int64_t prev_micros = s.last_micros;
    s.last = r.value;
    s.last_micros = t;
    s.silent = false;
    if (r.value != prev) s.run_start_micros = t;
    CheckHealth(s, t, r.value);
    if (CheckImplausible(s, t, r.value, prev, prev_micros)) {
      // Until a new level holds for several samples, the last plausible value stands for the
      // sensor, so one spike cannot leak into the relations of its neighbours.
      if (++s.implausible_run < options.series.change_points) {
        s.last = prev;
        s.last_micros = prev_micros;
        return;
      }
    }
    s.implausible_run = 0;
    switch (s.role) {
      case Role::kInlet:
        return ObserveInlet(s, t, r.value);
      case Role::kExhaust:
        return ObserveExhaust(s, t, r.value);
      case Role::kHumidity:
        return ObserveHumidity(s, t, r.value);
      case Role::kRackPower: {
        Rack& rack = *s.rack;
        if (rack.crah != nullptr && !std::isnan(rack.power_w))
          rack.crah->zone_power_w += r.value - rack.power_w;
        else if (rack.crah != nullptr)
          rack.crah->zone_power_w += r.value;
        rack.power_w = r.value;
        return ObserveLevel(s, t, r.value, Category::kFacility);
      }
      case Role::kFacilityMeter:
        ObservePue(t, r.value);
        return;
      case Role::kItMeter:
        it_w = r.value;
        return ObserveLevel(s, t, r.value, Category::kFacility);
      case Role::kOther:
        return ObserveLevel(s, t, r.value, Category::kFacility);
    }
  }

  void CheckHealth(Sensor& s, int64_t t, double v) {
    HealthFinding f = s.health.Observe(t, v);
    if (f == HealthFinding::kStuck && !StuckAgainstNeighbours(s)) f = HealthFinding::kNone;
    if (f != HealthFinding::kNone) Note(1);
    if (!s.health_gate.Onset(f == HealthFinding::kNone ? 0 : 1)) return;
    switch (f) {
      case HealthFinding::kStuck:
        return Report(
            s.id, t, v, 1, DetectorKind::kStuck, Category::kSensor,
            fmt::format("{} has repeated {} for far longer than its usual runs", s.id, v));
      case HealthFinding::kRail:
        return Report(s.id, t, v, 1, DetectorKind::kRail, Category::kSensor,
                      fmt::format("{} is flat at {}, a value failed probes report", s.id, v));
      case HealthFinding::kBurst:
        return Report(s.id, t, v, 1, DetectorKind::kBurst, Category::kSensor,
                      fmt::format("{} sends samples faster than its cadence of {:.0f} s", s.id,
                                  s.health.cadence_s()));
      case HealthFinding::kNone:
        return;
    }
  }

  // A sensor already out of its own relation, unhealthy, implausible within the repeat window, or
  // whose relation took its departure as a new level within upset_hold_s (a drift accepted after 2
  // h is still that sensor's).
  bool Suspect(const Sensor* s, int64_t t) const {
    return s != nullptr &&
           (s->step.open || s->drift.open || s->health_gate.open || s->silent ||
            t - s->implausible_micros <= static_cast<int64_t>(options.repeat_after_s * kMicros) ||
            Recent(s->accepted_micros, t));
  }

  // The relation's other input is already out of its own relation, the same way, beyond noise (3
  // sigma, where scores start): a drifting inlet moves its rack's dew point with it, and may cross
  // the alert level a sample later than the dew point does.
  static bool Leads(const Sensor* other, const SeriesPoint& p) {
    return other != nullptr && std::fabs(other->relation_drift_z) > 3 &&
           (other->relation_drift_z > 0) == (p.drift_z > 0);
  }

  // A value that stopped changing is stuck only if the air around it did not: at most a quarter
  // of its zone neighbours of the same kind have held their value for half as long (a steady room
  // repeats values on every sensor at once). Runs only for a stuck candidate, over its zone. A
  // sensor without neighbours must also outlast its longest run so far.
  bool StuckAgainstNeighbours(const Sensor& s) const {
    if (s.rack != nullptr && s.rack->crah != nullptr) {
      const int64_t half = (s.last_micros - s.run_start_micros) / 2;
      int neighbours = 0, holding = 0;
      for (const Sensor* n : s.rack->crah->sensors) {
        if (n == &s || ChangeGroup(n->role) != ChangeGroup(s.role)) continue;
        ++neighbours;
        holding += s.last_micros - n->run_start_micros >= half;
      }
      return neighbours > 0 && 4 * holding <= neighbours;
    }
    return s.health.run() > 2 * s.health.longest_run();
  }

  // A jump no physical process makes within one sample is the sensor's (a spike, a unit mix-up).
  bool CheckImplausible(Sensor& s, int64_t t, double v, double prev, int64_t prev_micros) {
    if (std::isnan(prev) || t - prev_micros > 600 * kMicros) return false;
    bool bad = false;
    std::string_view what;
    // Temperature and humidity by what they measure, in a rack or not (a device the topology
    // does not name is still judged on its health).
    if (s.jump_limit > 0) {
      bad = std::fabs(v - prev) > s.jump_limit;
      what = s.jump_unit;
    } else if (s.role == Role::kRackPower && prev > 0 && v > 0) {
      const double ratio = v / prev;
      bad = ratio > options.implausible_power_ratio || ratio < 1 / options.implausible_power_ratio;
      what = "W";
    }
    if (!bad) return false;
    Note(1);
    s.implausible_micros = t;
    Report(s.id, t, v, 1, DetectorKind::kImplausible, Category::kSensor,
           fmt::format("{} jumped from {} to {} {} in one sample", s.id, prev, v, what));
    return true;
  }

  void ObserveLevel(Sensor& s, int64_t t, double v, Category category) {
    const SeriesPoint p = s.series.Update(t, v);
    const double drift_score = DriftScore(p);
    Note(std::max(p.score, drift_score));
    const bool step = s.step.Onset(p.score);
    if (step || s.drift.Onset(drift_score)) {
      Report(s.id, t, v, std::max(p.score, drift_score), DetectorKind::kLevel, category,
             step ? fmt::format("{} reads {} where its baseline expects {:.4g} ({:+.1f} sigma)",
                                s.id, v, p.expected, p.z)
                  : fmt::format("{} reads {}, {:+.1f} sigma from its slow baseline", s.id, v,
                                p.drift_z));
    }
  }

  // Judges a relation residual: a step or a slow drift. Blames the upstream unit when one is upset
  // (the rack only followed it), else the sensor.
  void JudgeRelation(Sensor& s, int64_t t, double residual, DetectorKind kind, std::string relation,
                     const Sensor* other = nullptr) {
    const SeriesPoint p = s.series.Update(t, residual);
    s.relation_drift_z = p.drift_z;
    if (p.regime_change && (s.step.open || s.drift.open)) s.accepted_micros = t;
    const double drift_score = DriftScore(p);
    Note(std::max(p.score, drift_score));
    const bool step = s.step.Onset(p.score);
    // A departure that arrived in one sample is a step of the relation (a blanking panel out, a
    // door open), not a drift, however far it also is from the slow baseline, also when the slow
    // score crosses a sample after the step (a noisy sample on either side of the level).
    const bool drift = s.drift.Onset(drift_score) && !s.step.open;
    if (!step && !drift) return;
    Onset o{.sensor = &s,
            .other = other,
            .t = t,
            .residual = residual,
            .point = p,
            .drift_score = drift_score,
            .step = step,
            .drift = drift,
            .kind = kind,
            .relation = std::move(relation)};
    const Crah* zone = s.rack != nullptr ? s.rack->crah : nullptr;
    if (zone == nullptr || !zone->seen || zone->last_micros >= t || pending.size() >= kMaxPending)
      return Resolve(o);
    pending.push_back(std::move(o));
  }

  // Blames the upstream unit when one is stopped or upset (the rack only followed it), else the
  // relation's other input if that is itself out of its own relation, else the sensor.
  void Resolve(const Onset& o) {
    const Sensor& s = *o.sensor;
    const SeriesPoint& p = o.point;
    if (const std::string* up = Upstream(s.rack, o.t)) {
      Report(*up, o.t, o.residual, std::max(p.score, o.drift_score), o.kind, Category::kFacility,
             fmt::format("{} broke ({} off by {:+.2f}) while {} is stopped or upset", o.relation,
                         s.id, o.residual - p.expected, *up));
      return;
    }
    const Sensor& blamed = Suspect(o.other, o.t) || Leads(o.other, p) ? *o.other : s;
    if (o.step) {
      Report(blamed.id, o.t, o.residual, p.score, o.kind, Category::kFacility,
             fmt::format("{}: {} off by {:+.2f} ({:+.1f} sigma)", o.relation, blamed.id,
                         o.residual - p.expected, p.z));
    }
    if (o.drift) {
      Report(blamed.id, o.t, o.residual, o.drift_score, DetectorKind::kDrift, Category::kSensor,
             fmt::format("{}: {} drifted from its learned offset ({:+.1f} sigma)", o.relation,
                         blamed.id, p.drift_z));
    }
  }

  // Resolves the onsets that waited for `unit` to report at or after their instant.
  void ResolvePending(const Crah* unit) {
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->sensor->rack->crah == unit && it->t <= unit->last_micros) {
        Resolve(*it);
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
  }

  // How far the air of `s`'s zone moved at its height: the median, over the zone's other inlets
  // there, of their departure from their own offset. The racks of a zone breathe the same air, so
  // what moves them all at once (the units' fans settling at a new speed, a neighbour's air mixing
  // in) is the zone's, not N sensors'; the median keeps a faulty peer out. 0 with fewer than two
  // peers reporting: the inlet is then judged against the supply air alone.
  double ZoneShift(const Sensor& s) {
    const Crah& zone = *s.rack->crah;
    peers.clear();
    for (const Sensor* n : zone.inlets[s.height]) {
      if (n != &s && !n->silent && !std::isnan(n->offset))
        peers.push_back(n->last - zone.supply - n->offset);
    }
    if (peers.size() < 2) return 0;
    const auto mid = peers.begin() + static_cast<std::ptrdiff_t>(peers.size() / 2);
    std::nth_element(peers.begin(), mid, peers.end());
    if (peers.size() % 2 == 1) return *mid;
    return (*mid + *std::max_element(peers.begin(), mid)) / 2;
  }

  // The offset learns with the slow baseline's time constant, and not while the sensor is suspect.
  void LearnOffset(Sensor& s, int64_t t, double over_supply) {
    if (std::isnan(s.offset)) {
      s.offset = over_supply;
    } else if (!Suspect(&s, t)) {
      const double dt = static_cast<double>(t - s.offset_micros) / kMicros;
      s.offset +=
          std::min(1.0, dt / options.series.base_time_constant_s) * (over_supply - s.offset);
    }
    s.offset_micros = t;
  }

  void ObserveInlet(Sensor& s, int64_t t, double v) {
    Rack& rack = *s.rack;
    rack.inlet[s.height] = v;
    rack.inlet_micros[s.height] = t;
    if (s.height == 1 && rack.pending_rh_micros == t && rack.humidity_sensor != nullptr) {
      rack.pending_rh_micros = kNever;
      JudgeDewPoint(*rack.humidity_sensor, t, rack.pending_rh);
    }
    if (rack.crah == nullptr || std::isnan(rack.crah->supply)) return;
    const double over_supply = v - rack.crah->supply;
    JudgeRelation(s, t, over_supply - ZoneShift(s), DetectorKind::kInletSupply,
                  fmt::format("inlet vs {} supply air and its zone's", rack.crah->id));
    LearnOffset(s, t, over_supply);
  }

  void ObserveExhaust(Sensor& s, int64_t t, double v) {
    Rack& rack = *s.rack;
    rack.exhaust = v;
    const double inlet = rack.MeanInlet();
    if (std::isnan(inlet) || std::isnan(rack.power_w) || rack.power_w <= 0) return;
    // The relation needs inputs of about the same instant: not across a power sensor's dropout.
    if (rack.pdu != nullptr &&
        t - rack.pdu->last_micros > static_cast<int64_t>(options.health.dropout_cadences *
                                                         rack.pdu->health.cadence_s() * kMicros))
      return;
    const double kw = rack.power_w / 1000;
    const double rise = v - inlet;
    if (std::isnan(rack.airflow_k)) rack.airflow_k = rise / kw;
    const double residual = rise - rack.airflow_k * kw;
    // The slope learns slowly and only from residuals inside the band.
    if (std::fabs(residual) < options.series.huber_k * s.series.sigma() * 4)
      rack.airflow_k += 0.001 * residual / kw;
    const SeriesPoint p = s.series.Update(t, residual);
    const double drift_score = DriftScore(p);
    Note(std::max(p.score, drift_score));
    const bool step = s.step.Onset(p.score);
    const bool drift = s.drift.Onset(drift_score);
    if (!step && !drift) return;
    // Which side moved: an inlet or the power sensor if it is itself suspect, else the exhaust.
    const Sensor* blamed = &s;
    for (const Sensor* other :
         {rack.inlet_sensor[0], rack.inlet_sensor[1], rack.inlet_sensor[2], rack.pdu}) {
      if (Suspect(other, t)) blamed = other;
    }
    Report(blamed->id, t, residual, std::max(p.score, drift_score), DetectorKind::kAirflow,
           drift ? Category::kSensor : Category::kFacility,
           fmt::format("exhaust - inlet of {} is {:+.2f} K off what {:.1f} kW predicts", rack.id,
                       residual, kw));
  }

  // The dew point needs the middle inlet of the same instant: a 30 s old temperature in a room
  // whose air is changing reads as a dew point error.
  void ObserveHumidity(Sensor& s, int64_t t, double rh) {
    Rack& rack = *s.rack;
    if (rack.inlet_micros[1] == t) return JudgeDewPoint(s, t, rh);
    rack.pending_rh = rh;
    rack.pending_rh_micros = t;
  }

  void JudgeDewPoint(Sensor& s, int64_t t, double rh) {
    Rack& rack = *s.rack;
    if (rack.crah == nullptr) return;
    Room& room = *rack.crah->room;
    const double dp = DewPoint(rack.inlet[1], rh);
    if (std::isnan(room.dew_point)) room.dew_point = dp;
    const double residual = dp - room.dew_point;
    room.dew_point += 0.02 * std::clamp(residual, -0.5, 0.5);
    JudgeRelation(s, t, residual, DetectorKind::kDewPoint,
                  fmt::format("dew point of {} vs its room's", rack.id), rack.inlet_sensor[1]);
  }

  void ObservePue(int64_t t, double facility_w) {
    if (std::isnan(it_w) || it_w <= 0) return;
    if (utility_lost.Onset(facility_w <= 0 ? 1 : 0)) {
      Report(topology.facility_meter, t, facility_w, 1, DetectorKind::kPue, Category::kFacility,
             fmt::format("utility lost: {} reads {} W while IT draws {:.0f} W",
                         topology.facility_meter, facility_w, it_w));
    }
    if (facility_w <= 0) return;
    const double pue = facility_w / it_w;
    const SeriesPoint p = pue_series.Update(t, pue);
    const double drift_score = DriftScore(p);
    Note(drift_score);
    if (!pue_drift.Onset(drift_score)) return;
    // Cooling moves the PUE: blame a stopped unit, else an upset plant, else the meter.
    const std::string* cause = StoppedUnit(t);
    if (cause == nullptr && Recent(plant_upset_micros, t)) cause = &topology.plant;
    Report(cause ? *cause : topology.facility_meter, t, pue, drift_score, DetectorKind::kPue,
           Category::kFacility,
           fmt::format("PUE {:.3f} drifted from its baseline {:.3f}{}", pue, p.expected,
                       cause ? " with " + *cause + " stopped or upset" : ""));
  }

  Crah* CrahFor(const std::string& id) {
    auto it = crahs.find(id);
    return it == crahs.end() ? nullptr : it->second.get();
  }

  void ObserveCooling(const CoolingMetric& c) {
    if (c.system_id == topology.plant) return ObservePlant(c);
    Crah* u = CrahFor(c.system_id);
    if (u == nullptr || c.timestamp_micros <= u->last_micros) return;
    ObserveCrah(*u, c);
    ResolvePending(u);
  }

  void ObserveCrah(Crah& unit, const CoolingMetric& c) {
    Crah* u = &unit;
    const int64_t t = c.timestamp_micros;
    u->last_micros = t;
    const bool running = c.supply_air_temp_celsius.has_value() &&
                         c.fan_speed_percent.value_or(1) > 0 && c.power_consumption_watts > 0;
    if (u->stopped.Onset(running ? 0 : 1)) {
      Report(u->id, t, c.power_consumption_watts, 1, DetectorKind::kUnitStopped,
             Category::kFacility,
             fmt::format("{} stopped: no airflow, {} W", u->id, c.power_consumption_watts));
    }
    u->seen = true;
    u->running = running;
    if (!running) {
      Note(1);
      u->upset_micros = u->stopped_micros = t;
      return;
    }
    const double supply = *c.supply_air_temp_celsius;
    u->supply = supply;
    const SeriesPoint p = u->supply_series.Update(t, supply);
    const double drift_score = DriftScore(p);
    Note(std::max(p.score, drift_score));
    const bool step = u->supply_step.Onset(p.score);
    const bool drift = u->supply_drift.Onset(drift_score);
    if (p.score >= kClearLevel || drift_score >= kClearLevel) u->upset_micros = t;
    if (step || drift) {
      Report(u->id, t, supply, std::max(p.score, drift_score), DetectorKind::kLevel,
             Category::kFacility,
             fmt::format("{} supply air {:.2f} degC where its baseline expects {:.2f}", u->id,
                         supply, p.expected));
    }
    if (!c.return_air_temp_celsius || !c.fan_speed_percent || u->zone_power_w <= 0) return;
    const double kw = u->zone_power_w / 1000;
    const double moved = (*c.return_air_temp_celsius - supply) * *c.fan_speed_percent / 100;
    if (std::isnan(u->delta_t_k)) u->delta_t_k = moved / kw;
    // Judged as a share of the prediction: the units share the plenum's air, so the spread that
    // counts is relative (options.delta_t_min_sigma_share), whatever the zone's load.
    const double residual = moved / (u->delta_t_k * kw) - 1;
    u->delta_t_k += 0.001 * u->delta_t_k * residual;
    const SeriesPoint d = u->delta_t_series.Update(t, residual);
    const double dscore = DriftScore(d);
    Note(dscore);
    if (u->delta_t_drift.Onset(dscore)) {
      // With a unit stopped, the others carry its zone's air: their relation follows it.
      const std::string* stopped = StoppedUnit(t);
      Report(
          stopped ? *stopped : u->id, t, residual, dscore, DetectorKind::kCrahDeltaT,
          Category::kFacility,
          fmt::format("{}: (return - supply) x fan is {:+.1f} % off what its zone's {:.1f} kW "
                      "predicts{}",
                      u->id, 100 * residual, kw, stopped ? " with " + *stopped + " stopped" : ""));
    }
  }

  void ObservePlant(const CoolingMetric& c) {
    const int64_t t = c.timestamp_micros;
    const SeriesPoint p = plant_series.Update(t, c.power_consumption_watts);
    Note(p.score);
    // Upset when its own level is anomalous (the alert level): at half of it, the plant's ordinary
    // night-time swings would explain, and so hide, a rack sensor's drift.
    if (p.score >= kAlertLevel) plant_upset_micros = t;
    if (plant_step.Onset(p.score)) {
      // The plant's load is the coils' heat: with a unit stopped, the plant follows it.
      const std::string* stopped = StoppedUnit(t);
      Report(stopped ? *stopped : topology.plant, t, c.power_consumption_watts, p.score,
             DetectorKind::kLevel, Category::kFacility,
             fmt::format("{} draws {:.0f} W where its baseline expects {:.0f} W ({:+.1f} sigma){}",
                         topology.plant, c.power_consumption_watts, p.expected, p.z,
                         stopped ? " with " + *stopped + " stopped" : ""));
    }
  }

  void AdvanceTo(int64_t t) {
    if (t > now_micros) now_micros = t;
    if (now_micros < next_silence_check) return;
    next_silence_check = now_micros + 10 * kMicros;
    for (auto& [id, s] : sensors) {
      if (s->silent || !s->health.Silent(now_micros)) continue;
      s->silent = true;
      Report(id, now_micros, s->last, 1, DetectorKind::kDropout, Category::kSensor,
             fmt::format("{} silent for {:.0f} s (cadence {:.0f} s)", id,
                         static_cast<double>(now_micros - s->last_micros) / kMicros,
                         s->health.cadence_s()));
    }
  }
};

Status FacilityDetectorOptions::Validate() const {
  if (Status s = series.Validate(); !s.ok()) return s.WithPrefix("series.");
  if (Status s = health.Validate(); !s.ok()) return s.WithPrefix("health.");
  if (!(repeat_after_s >= 0)) return InvalidArgument("repeat_after_s: must be at least 0");
  if (!(upset_hold_s >= 0)) return InvalidArgument("upset_hold_s: must be at least 0");
  if (!(implausible_jump_c > 0)) return InvalidArgument("implausible_jump_c: must be above 0");
  if (!(implausible_jump_rh > 0)) return InvalidArgument("implausible_jump_rh: must be above 0");
  if (!(implausible_power_ratio > 1))
    return InvalidArgument("implausible_power_ratio: must be above 1");
  if (!(temperature_min_sigma_c >= 0))
    return InvalidArgument("temperature_min_sigma_c: must be at least 0");
  if (!(power_min_sigma_share >= 0 && power_min_sigma_share <= 1))
    return InvalidArgument("power_min_sigma_share: must be in 0..1");
  if (!(delta_t_min_sigma_share >= 0 && delta_t_min_sigma_share <= 1))
    return InvalidArgument("delta_t_min_sigma_share: must be in 0..1");
  if (!(pue_min_sigma_share >= 0 && pue_min_sigma_share <= 1))
    return InvalidArgument("pue_min_sigma_share: must be in 0..1");
  return Status::Ok();
}

FacilityDetector::FacilityDetector(const FacilityDetectorOptions& options, const Topology& topology,
                                   AnomalyCallback on_anomaly)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = options;
  s.topology = topology;
  s.on_anomaly = std::move(on_anomaly);
  s.temperature_series = options.series;
  s.temperature_series.min_sigma =
      std::max(options.series.min_sigma, options.temperature_min_sigma_c);
  s.power_series = options.series;
  s.power_series.min_sigma_share =
      std::max(options.series.min_sigma_share, options.power_min_sigma_share);
  // The plant's power follows the heat load the way IT power follows the workload: a move of a
  // percent (7.7 "sigma" of an unfloored night-time baseline, seed 3) is the weather, not a fault.
  s.plant_series = SeriesDetector(s.power_series);
  SeriesOptions delta_t_series = options.series;
  delta_t_series.min_sigma = std::max(options.series.min_sigma, options.delta_t_min_sigma_share);
  SeriesOptions pue_series = options.series;
  pue_series.min_sigma_share =
      std::max(options.series.min_sigma_share, options.pue_min_sigma_share);
  s.pue_series = SeriesDetector(pue_series);
  for (const Topology::Zone& z : topology.zones) {
    auto& room = s.rooms[z.room];
    if (!room) room = std::make_unique<Room>();
    auto& crah = s.crahs[z.crah];
    crah = std::make_unique<Crah>(Crah{.id = z.crah,
                                       .room = room.get(),
                                       .supply_series = SeriesDetector(s.temperature_series),
                                       .delta_t_series = SeriesDetector(delta_t_series)});
    room->crahs.push_back(crah.get());
    for (const std::string& r : z.racks) {
      s.racks[RackKey(z.room, r)] = std::make_unique<Rack>(Rack{.id = r, .crah = crah.get()});
    }
  }
}

FacilityDetector::~FacilityDetector() = default;

double FacilityDetector::Observe(const Record& record) {
  state_->record_score = 0;
  if (const auto* r = std::get_if<SensorReading>(&record)) {
    state_->ObserveSensor(*r);
    if (state_->options.silence_on_records) state_->AdvanceTo(r->timestamp_micros);
  } else {
    const auto& c = std::get<CoolingMetric>(record);
    state_->ObserveCooling(c);
    if (state_->options.silence_on_records) state_->AdvanceTo(c.timestamp_micros);
  }
  return state_->record_score;
}

void FacilityDetector::AdvanceTo(int64_t now_micros) { state_->AdvanceTo(now_micros); }

}  // namespace dcmon::detect
