#include "detect/facility_detector.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
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

struct Rack;

struct Sensor {
  std::string id;
  Role role = Role::kOther;
  int height = 0;  // inlets: 0 bottom, 1 middle, 2 top
  Rack* rack = nullptr;
  SeriesDetector series;  // own level (kOther, power, meters) or relation residual (rack sensors)
  SensorHealth health;
  double last = kNaN;
  int64_t last_micros = kNever;
  Gate step, drift, health_gate;
  bool silent = false;
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
  int64_t upset_micros = kNever;  // last time it was stopped or its supply air was anomalous
  SeriesDetector supply_series, delta_t_series;
  Gate stopped, supply_step, supply_drift, delta_t_drift;
};

}  // namespace

struct FacilityDetector::State {
  FacilityDetectorOptions options;
  Topology topology;
  AnomalyCallback on_anomaly;
  std::unordered_map<std::string, std::unique_ptr<Sensor>> sensors;
  std::unordered_map<std::string, std::unique_ptr<Rack>> racks;
  std::unordered_map<std::string, std::unique_ptr<Crah>> crahs;
  std::unordered_map<std::string, std::unique_ptr<Room>> rooms;
  std::unordered_map<std::string, int64_t> last_onset;  // device + '\0' + detector
  SeriesDetector plant_series, pue_series;
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
    if (r.device_id == topology.facility_meter) s.role = Role::kFacilityMeter;
    if (r.device_id == topology.it_meter) s.role = Role::kItMeter;
    auto rack = racks.find(r.placement.rack);
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
    CheckHealth(s, t, r.value);
    if (CheckImplausible(s, t, r.value, prev, prev_micros)) return;
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
    const HealthFinding f = s.health.Observe(t, v);
    if (f != HealthFinding::kNone) Note(1);
    if (!s.health_gate.Onset(f == HealthFinding::kNone ? 0 : 1)) return;
    switch (f) {
      case HealthFinding::kStuck:
        return Report(s.id, t, v, 1, DetectorKind::kStuck, Category::kSensor,
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

  // A jump no physical process makes within one sample is the sensor's (a spike, a unit mix-up).
  bool CheckImplausible(Sensor& s, int64_t t, double v, double prev, int64_t prev_micros) {
    if (std::isnan(prev) || t - prev_micros > 600 * kMicros) return false;
    bool bad = false;
    std::string_view what;
    if (s.role == Role::kInlet || s.role == Role::kExhaust) {
      bad = std::fabs(v - prev) > options.implausible_jump_c;
      what = "degC";
    } else if (s.role == Role::kHumidity) {
      bad = std::fabs(v - prev) > options.implausible_jump_rh;
      what = "%RH";
    } else if (s.role == Role::kRackPower && prev > 0 && v > 0) {
      const double ratio = v / prev;
      bad = ratio > options.implausible_power_ratio || ratio < 1 / options.implausible_power_ratio;
      what = "W";
    }
    if (!bad) return false;
    Note(1);
    Report(s.id, t, v, 1, DetectorKind::kImplausible, Category::kSensor,
           fmt::format("{} jumped from {} to {} {} in one sample", s.id, prev, v, what));
    return true;
  }

  void ObserveLevel(Sensor& s, int64_t t, double v, Category category) {
    const SeriesPoint p = s.series.Update(t, v);
    const double drift_score =
        s.series.points() >= options.series.warmup_points ? Score(p.drift_z) : 0;
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
  void JudgeRelation(Sensor& s, int64_t t, double residual, DetectorKind kind,
                     std::string_view relation, const Sensor* other = nullptr) {
    const SeriesPoint p = s.series.Update(t, residual);
    const double drift_score = s.series.points() >= options.series.warmup_points
                                   ? Score(p.drift_z)
                                   : 0;
    Note(std::max(p.score, drift_score));
    const bool step = s.step.Onset(p.score);
    const bool drift = s.drift.Onset(drift_score);
    if (!step && !drift) return;
    if (const std::string* up = Upstream(s.rack, t)) {
      Report(*up, t, residual, std::max(p.score, drift_score), kind, Category::kFacility,
             fmt::format("{} broke ({} off by {:+.2f}) while {} is stopped or upset", relation,
                         s.id, residual - p.expected, *up));
      return;
    }
    // When the relation's other input is itself out of its own relation, it is the one that broke.
    const Sensor& blamed =
        other != nullptr && (other->step.open || other->drift.open || other->health_gate.open)
            ? *other
            : s;
    if (step) {
      Report(blamed.id, t, residual, p.score, kind, Category::kFacility,
             fmt::format("{}: {} off by {:+.2f} ({:+.1f} sigma)", relation, blamed.id,
                         residual - p.expected, p.z));
    }
    if (drift) {
      Report(blamed.id, t, residual, drift_score, DetectorKind::kDrift, Category::kSensor,
             fmt::format("{}: {} drifted from its learned offset ({:+.1f} sigma)", relation,
                         blamed.id, p.drift_z));
    }
  }

  void ObserveInlet(Sensor& s, int64_t t, double v) {
    Rack& rack = *s.rack;
    rack.inlet[s.height] = v;
    if (rack.crah == nullptr || std::isnan(rack.crah->supply)) return;
    JudgeRelation(s, t, v - rack.crah->supply, DetectorKind::kInletSupply,
                  fmt::format("inlet vs {} supply air", rack.crah->id));
  }

  void ObserveExhaust(Sensor& s, int64_t t, double v) {
    Rack& rack = *s.rack;
    rack.exhaust = v;
    const double inlet = rack.MeanInlet();
    if (std::isnan(inlet) || std::isnan(rack.power_w) || rack.power_w <= 0) return;
    const double kw = rack.power_w / 1000;
    const double rise = v - inlet;
    if (std::isnan(rack.airflow_k)) rack.airflow_k = rise / kw;
    const double residual = rise - rack.airflow_k * kw;
    // The slope learns slowly and only from residuals inside the band.
    if (std::fabs(residual) < options.series.huber_k * s.series.sigma() * 4)
      rack.airflow_k += 0.001 * residual / kw;
    const SeriesPoint p = s.series.Update(t, residual);
    const double drift_score =
        s.series.points() >= options.series.warmup_points ? Score(p.drift_z) : 0;
    Note(std::max(p.score, drift_score));
    const bool step = s.step.Onset(p.score);
    const bool drift = s.drift.Onset(drift_score);
    if (!step && !drift) return;
    // Which side moved: the power sensor if its own level left its band, else the exhaust sensor.
    const Sensor* blamed = &s;
    if (rack.pdu != nullptr && rack.pdu->step.open) blamed = rack.pdu;
    Report(blamed->id, t, residual, std::max(p.score, drift_score), DetectorKind::kAirflow,
           drift ? Category::kSensor : Category::kFacility,
           fmt::format("exhaust - inlet of {} is {:+.2f} K off what {:.1f} kW predicts", rack.id,
                       residual, kw));
  }

  void ObserveHumidity(Sensor& s, int64_t t, double rh) {
    Rack& rack = *s.rack;
    if (rack.crah == nullptr || std::isnan(rack.inlet[1])) return;
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
    const double drift_score =
        pue_series.points() >= options.series.warmup_points ? Score(p.drift_z) : 0;
    Note(drift_score);
    if (!pue_drift.Onset(drift_score)) return;
    const bool plant = Recent(plant_upset_micros, t);
    Report(plant ? topology.plant : topology.facility_meter, t, pue, drift_score,
           DetectorKind::kPue, Category::kFacility,
           fmt::format("PUE {:.3f} drifted from its baseline {:.3f}{}", pue, p.expected,
                       plant ? " with the chiller plant upset" : ""));
  }

  Crah* CrahFor(const std::string& id) {
    auto it = crahs.find(id);
    return it == crahs.end() ? nullptr : it->second.get();
  }

  void ObserveCooling(const CoolingMetric& c) {
    const int64_t t = c.timestamp_micros;
    if (c.system_id == topology.plant) return ObservePlant(c);
    Crah* u = CrahFor(c.system_id);
    if (u == nullptr) return;
    const bool running = c.supply_air_temp_celsius.has_value() &&
                         c.fan_speed_percent.value_or(1) > 0 && c.power_consumption_watts > 0;
    if (u->stopped.Onset(u->seen && u->running && !running ? 1 : u->running ? 0 : 1)) {
      Report(u->id, t, c.power_consumption_watts, 1, DetectorKind::kUnitStopped,
             Category::kFacility, fmt::format("{} stopped: no airflow, {} W", u->id,
                                              c.power_consumption_watts));
    }
    u->seen = true;
    u->running = running;
    if (!running) {
      Note(1);
      u->upset_micros = t;
      return;
    }
    const double supply = *c.supply_air_temp_celsius;
    u->supply = supply;
    const SeriesPoint p = u->supply_series.Update(t, supply);
    const double drift_score =
        u->supply_series.points() >= options.series.warmup_points ? Score(p.drift_z) : 0;
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
    const double residual = moved - u->delta_t_k * kw;
    u->delta_t_k += 0.001 * residual / kw;
    const SeriesPoint d = u->delta_t_series.Update(t, residual);
    const double dscore =
        u->delta_t_series.points() >= options.series.warmup_points ? Score(d.drift_z) : 0;
    Note(dscore);
    if (u->delta_t_drift.Onset(dscore)) {
      Report(u->id, t, residual, dscore, DetectorKind::kCrahDeltaT, Category::kFacility,
             fmt::format("{}: return - supply is {:+.2f} K off what its zone's {:.1f} kW predicts",
                         u->id, residual, kw));
    }
  }

  void ObservePlant(const CoolingMetric& c) {
    const int64_t t = c.timestamp_micros;
    const SeriesPoint p = plant_series.Update(t, c.power_consumption_watts);
    Note(p.score);
    if (p.score >= kClearLevel) plant_upset_micros = t;
    if (plant_step.Onset(p.score)) {
      Report(topology.plant, t, c.power_consumption_watts, p.score, DetectorKind::kLevel,
             Category::kFacility,
             fmt::format("{} draws {:.0f} W where its baseline expects {:.0f} W ({:+.1f} sigma)",
                         topology.plant, c.power_consumption_watts, p.expected, p.z));
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
  return Status::Ok();
}

FacilityDetector::FacilityDetector(const FacilityDetectorOptions& options,
                                   const Topology& topology, AnomalyCallback on_anomaly)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = options;
  s.topology = topology;
  s.on_anomaly = std::move(on_anomaly);
  s.plant_series = SeriesDetector(options.series);
  s.pue_series = SeriesDetector(options.series);
  for (const Topology::Zone& z : topology.zones) {
    auto& room = s.rooms[z.room];
    if (!room) room = std::make_unique<Room>();
    auto& crah = s.crahs[z.crah];
    crah = std::make_unique<Crah>(Crah{.id = z.crah,
                                       .room = room.get(),
                                       .supply_series = SeriesDetector(options.series),
                                       .delta_t_series = SeriesDetector(options.series)});
    room->crahs.push_back(crah.get());
    for (const std::string& r : z.racks) {
      s.racks[r] = std::make_unique<Rack>(Rack{.id = r, .crah = crah.get()});
    }
  }
}

FacilityDetector::~FacilityDetector() = default;

double FacilityDetector::Observe(const Record& record) {
  state_->record_score = 0;
  if (const auto* r = std::get_if<SensorReading>(&record)) {
    state_->ObserveSensor(*r);
    state_->AdvanceTo(r->timestamp_micros);
  } else {
    const auto& c = std::get<CoolingMetric>(record);
    state_->ObserveCooling(c);
    state_->AdvanceTo(c.timestamp_micros);
  }
  return state_->record_score;
}

void FacilityDetector::AdvanceTo(int64_t now_micros) { state_->AdvanceTo(now_micros); }

size_t FacilityDetector::devices() const {
  return state_->sensors.size() + state_->crahs.size() + 1;
}

}  // namespace dcmon::detect
