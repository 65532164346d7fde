// Sampling, fault injection and labels over the facility Model. Device ids and the record catalogue
// are documented in docs/simulator.md.
#include "sim/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <unordered_map>

#include "core/json_writer.h"
#include "core/record_json.h"

namespace dcmon::sim {
namespace {

constexpr int64_t kMicros = 1000000;
// How long a `late` fault holds records back.
constexpr int64_t kLateDelayMicros = 10 * 60 * kMicros;
// A `reorder` fault shuffles the stream in windows of this many records.
constexpr size_t kReorderWindow = 16;
constexpr double kDriftPerHour = 1.0;  // °C or %RH per hour; power drifts 2 % per hour

double Round(double v, double step) { return std::round(v / step) * step; }

// The physics step: the largest divisor of every sampling interval, at most 5 s, so every sample
// falls on a step.
int64_t StepMicros(const SamplingConfig& s) {
  const int64_t seconds =
      std::gcd(std::gcd(std::gcd(s.temperature_s, s.humidity_s), std::gcd(s.power_s, s.cooling_s)),
               std::gcd(std::gcd(s.meter_s, s.weather_s), 5));
  return seconds * kMicros;
}

bool IsEquipment(FaultKind k) { return k <= FaultKind::kBlankingGap; }
bool IsSensorFault(FaultKind k) {
  return k >= FaultKind::kSensorDrift && k <= FaultKind::kUnitMixup;
}
bool IsTransport(FaultKind k) { return k >= FaultKind::kDuplicates; }

bool Active(const Fault& f, int64_t t) { return f.start_micros <= t && t < f.end_micros; }

// A broken line of one of the kinds a real transport produces, chosen by `pick`.
std::string Corrupt(std::string_view line, uint64_t pick) {
  switch (pick % 5) {
    case 0:
      return std::string(line.substr(0, line.size() / 2));  // truncated
    case 1:
      return std::string(line) + "}";  // trailing garbage
    case 2: {                          // value as a string
      std::string s(line);
      if (const size_t at = s.find("\"value\":"); at != std::string::npos) {
        s.insert(at + 8, "\"");
        s.insert(s.find(',', at + 9), "\"");
      } else {
        s.insert(1, "\"garbage\":,");
      }
      return s;
    }
    case 3:
      return std::string(line.substr(1));  // lost opening brace
    default:
      return "\xff\xfe" + std::string(line.substr(2));  // bytes mangled in transit
  }
}

}  // namespace

Simulator::Simulator(const FacilityConfig& facility, SimulatorOptions options)
    : model_(facility, options.seed,
             options.start_micros - options.start_micros % StepMicros(facility.sampling)),
      options_(std::move(options)),
      faults_(options_.faults),
      label_written_(faults_.size(), false),
      rng_(options_.seed ^ 0x9e3779b97f4a7c15ULL),
      now_micros_(model_.now_micros()),
      stuck_value_(faults_.size(), std::numeric_limits<double>::quiet_NaN()) {
  step_micros_ = StepMicros(facility.sampling);
  for (const Rack& r : model_.racks()) configured_gap_.push_back(r.blanking_gap);
}

Result<std::unique_ptr<Simulator>> Simulator::Create(const FacilityConfig& facility,
                                                     SimulatorOptions options) {
  if (Status s = facility.Validate(); !s.ok()) return s;
  std::unique_ptr<Simulator> sim(new Simulator(facility, std::move(options)));
  sim->BuildDevices();
  if (Status s = sim->ResolveTargets(); !s.ok()) return s;
  return sim;
}

void Simulator::BuildDevices() {
  const FacilityConfig& f = model_.facility();
  const SamplingConfig& s = f.sampling;
  auto sensor = [&](Device::Source source, int index, int interval, std::string id,
                    const std::string& location, const char* measurement, const char* unit,
                    Placement placement, const char* position) {
    SensorReading reading{.device_id = std::move(id),
                          .location = location,
                          .measurement_type = measurement,
                          .unit = unit,
                          .placement = std::move(placement),
                          .position = position};
    SensorJsonTemplate json(reading);
    devices_.push_back(Device{.source = source,
                              .index = index,
                              .interval_s = interval,
                              .record = std::move(reading),
                              .json = std::move(json)});
  };
  const auto& racks = model_.racks();
  for (int i = 0; i < static_cast<int>(racks.size()); ++i) {
    const Rack& r = racks[i];
    const RoomConfig& room = f.rooms[r.room];
    const Placement p{f.site, room.id, r.row, r.id};
    using S = Device::Source;
    sensor(S::kInletBottom, i, s.temperature_s, r.id + "-inlet-bottom", room.name, "temperature",
           "celsius", p, "inlet_bottom");
    sensor(S::kInletMiddle, i, s.temperature_s, r.id + "-inlet-middle", room.name, "temperature",
           "celsius", p, "inlet_middle");
    sensor(S::kInletTop, i, s.temperature_s, r.id + "-inlet-top", room.name, "temperature",
           "celsius", p, "inlet_top");
    sensor(S::kExhaust, i, s.temperature_s, r.id + "-exhaust", room.name, "temperature", "celsius",
           p, "exhaust");
    sensor(S::kHumidity, i, s.humidity_s, r.id + "-humidity", room.name, "humidity", "percent", p,
           "inlet_middle");
    sensor(S::kRackPower, i, s.power_s, r.id + "-pdu", room.name, "power", "watts", p, "");
  }
  const auto& crahs = model_.crahs();
  for (int i = 0; i < static_cast<int>(crahs.size()); ++i) {
    const RoomConfig& room = f.rooms[crahs[i].room];
    devices_.push_back(Device{
        .source = Device::Source::kCrah,
        .index = i,
        .interval_s = s.cooling_s,
        .record = CoolingMetric{.system_id = crahs[i].id, .placement = {f.site, room.id, "", ""}}});
  }
  devices_.push_back(Device{
      .source = Device::Source::kPlant,
      .interval_s = s.cooling_s,
      .record = CoolingMetric{.system_id = "chiller-plant", .placement = {f.site, "", "", ""}}});
  const Placement site{f.site, "", "", ""};
  sensor(Device::Source::kMeterFacility, 0, s.meter_s, "meter_facility", "Utility intake", "power",
         "watts", site, "");
  sensor(Device::Source::kMeterIt, 0, s.meter_s, "meter_it", "UPS output", "power", "watts", site,
         "");
  sensor(Device::Source::kOutdoorTemperature, 0, s.weather_s, "outdoor-temperature", "Outdoor",
         "temperature", "celsius", site, "");
  sensor(Device::Source::kOutdoorHumidity, 0, s.weather_s, "outdoor-humidity", "Outdoor",
         "humidity", "percent", site, "");
}

Status Simulator::ResolveTargets() {
  std::unordered_map<std::string_view, const Device*> by_id;
  for (const Device& d : devices_) {
    by_id.emplace(DeviceIdOf(d.record), &d);
  }
  const auto& crahs = model_.crahs();
  const auto& racks = model_.racks();
  for (Fault& f : faults_) {
    auto bad = [&](std::string_view why) {
      return InvalidArgument(fmt::format("scenario \"{}\": TARGET: {}", f.spec, why));
    };
    if (f.end_micros <= now_micros_) {
      return InvalidArgument(
          fmt::format("scenario \"{}\": ends before the simulation starts", f.spec));
    }
    switch (f.kind) {
      case FaultKind::kCrahTrip:
        if (f.target.empty()) f.target = crahs[rng_.Next() % crahs.size()].id;
        if (std::none_of(crahs.begin(), crahs.end(),
                         [&](const Crah& c) { return c.id == f.target; })) {
          return bad(
              fmt::format("no CRAH unit \"{}\" (units are named like {})", f.target, crahs[0].id));
        }
        break;
      case FaultKind::kChillerTrip:
        if (f.target.empty()) f.target = "chiller-plant";
        if (f.target != "chiller-plant") return bad("the chiller plant is \"chiller-plant\"");
        break;
      case FaultKind::kUtilityOutage:
        if (f.target.empty()) f.target = "utility";
        if (f.target != "utility")
          return bad("a utility outage affects the whole site: use \"utility\" or none");
        break;
      case FaultKind::kBlankingGap:
        if (f.target.empty()) f.target = racks[rng_.Next() % racks.size()].id;
        if (std::none_of(racks.begin(), racks.end(),
                         [&](const Rack& r) { return r.id == f.target; })) {
          return bad(
              fmt::format("no rack \"{}\" (racks are named like {})", f.target, racks[0].id));
        }
        break;
      case FaultKind::kSensorDrift:
      case FaultKind::kSensorStuck:
      case FaultKind::kSensorSpike:
      case FaultKind::kSensorDropout:
      case FaultKind::kUnitMixup: {
        if (f.target.empty()) f.target = racks[rng_.Next() % racks.size()].id + "-inlet-middle";
        auto it = by_id.find(f.target);
        if (it == by_id.end() || !std::holds_alternative<SensorReading>(it->second->record)) {
          return bad(fmt::format("no sensor \"{}\" (sensors are named like {}-inlet-top)", f.target,
                                 racks[0].id));
        }
        if (f.kind == FaultKind::kUnitMixup &&
            std::get<SensorReading>(it->second->record).measurement_type != "temperature") {
          return bad("a unit mix-up (°F sent as °C) needs a temperature sensor");
        }
        break;
      }
      case FaultKind::kDuplicates:
      case FaultKind::kReorder:
      case FaultKind::kLate:
      case FaultKind::kMalformed:
        if (f.target.empty()) f.target = "*";
        if (f.target != "*" && !by_id.count(f.target))
          return bad(fmt::format("no device \"{}\"", f.target));
        break;
    }
  }
  return Status::Ok();
}

std::vector<std::string> Simulator::AffectedDevices(const Fault& f) const {
  std::vector<std::string> out;
  const auto& crahs = model_.crahs();
  switch (f.kind) {
    case FaultKind::kCrahTrip: {
      out.push_back(f.target);
      int zone = 0;
      while (crahs[zone].id != f.target) ++zone;
      for (const Rack& r : model_.racks()) {
        if (r.zone != zone) continue;
        for (const char* suffix :
             {"-inlet-bottom", "-inlet-middle", "-inlet-top", "-exhaust", "-humidity"}) {
          out.push_back(r.id + suffix);
        }
      }
      break;
    }
    case FaultKind::kChillerTrip:
    case FaultKind::kUtilityOutage:
      if (f.kind == FaultKind::kUtilityOutage) out.push_back("meter_facility");
      out.push_back("chiller-plant");
      for (const Crah& c : crahs) out.push_back(c.id);
      break;
    case FaultKind::kBlankingGap:
      out.push_back(f.target + "-inlet-top");
      break;
    default:
      out.push_back(f.target);
  }
  return out;
}

Status Simulator::WriteLabel(const Fault& f, Sink& labels) {
  std::string line;
  {
    JsonWriter w(line);
    w.BeginObject();
    w.Key("kind");
    w.String(FaultKindName(f.kind));
    w.Key("target");
    w.String(f.target);
    w.Key("devices");
    w.BeginArray();
    for (const std::string& d : AffectedDevices(f)) w.String(d);
    w.EndArray();
    w.Key("start");
    w.Timestamp(f.start_micros);
    w.Key("end");
    w.Timestamp(f.end_micros);
    if (f.rate > 0) {
      w.Key("rate");
      w.Double(f.rate);
    }
    w.EndObject();
  }
  ++counters_.labels;
  return labels.Write(f.target, line);
}

void Simulator::ApplyEquipmentFaults(int64_t t) {
  const auto& crahs = model_.crahs();
  const auto& racks = model_.racks();
  std::vector<bool> crah_down(crahs.size(), false);
  std::vector<bool> gap(configured_gap_);
  bool chiller_down = false, outage = false;
  for (const Fault& f : faults_) {
    if (!IsEquipment(f.kind) || !Active(f, t)) continue;
    switch (f.kind) {
      case FaultKind::kCrahTrip:
        for (size_t i = 0; i < crahs.size(); ++i)
          crah_down[i] = crah_down[i] || crahs[i].id == f.target;
        break;
      case FaultKind::kChillerTrip:
        chiller_down = true;
        break;
      case FaultKind::kUtilityOutage:
        outage = true;
        break;
      case FaultKind::kBlankingGap:
        for (size_t i = 0; i < racks.size(); ++i) gap[i] = gap[i] || racks[i].id == f.target;
        break;
      default:
        break;
    }
  }
  for (size_t i = 0; i < crahs.size(); ++i) model_.SetCrahRunning(i, !crah_down[i]);
  for (size_t i = 0; i < racks.size(); ++i) model_.SetBlankingGap(i, gap[i]);
  model_.SetChillerRunning(!chiller_down);
  model_.SetUtilityOutage(outage);
}

double Simulator::SampleValue(const Device& d) const {
  using S = Device::Source;
  switch (d.source) {
    case S::kInletBottom:
      return model_.racks()[d.index].inlet_c[0];
    case S::kInletMiddle:
      return model_.racks()[d.index].inlet_c[1];
    case S::kInletTop:
      return model_.racks()[d.index].inlet_c[2];
    case S::kExhaust:
      return model_.racks()[d.index].exhaust_c;
    case S::kHumidity:
      return model_.racks()[d.index].inlet_rh_percent;
    case S::kRackPower:
      return model_.racks()[d.index].power_w;
    case S::kMeterFacility:
      return model_.meters().facility_w;
    case S::kMeterIt:
      return model_.meters().it_w;
    case S::kOutdoorTemperature:
      return model_.weather().dry_bulb_c;
    case S::kOutdoorHumidity:
      return model_.weather().rh_percent;
    case S::kCrah:
    case S::kPlant:
      break;
  }
  return 0;
}

double Simulator::Noise(const Device& d, int64_t t, uint64_t channel) const {
  const auto device = static_cast<uint64_t>(&d - devices_.data());
  return KeyedNormal(options_.seed, device * 4 + channel, static_cast<uint64_t>(t));
}

Status Simulator::Send(Device& d, int64_t t, Sink& records) {
  const int64_t seq =
      t / kMicros / d.interval_s;  // sample number since the epoch: gaps show lost samples
  const SensorConfig& noise = model_.facility().sensors;
  if (const auto* s = std::get_if<SensorReading>(&d.record)) {
    using S = Device::Source;
    const bool power =
        d.source == S::kRackPower || d.source == S::kMeterFacility || d.source == S::kMeterIt;
    const bool humidity = d.source == S::kHumidity || d.source == S::kOutdoorHumidity;
    double v = SampleValue(d);
    // Measurement noise first: a stuck sensor repeats one noisy reading, a drift adds to it.
    v += Noise(d, t, 0) * (power      ? noise.power_noise_share * v
                           : humidity ? noise.humidity_noise_percent
                                      : noise.temperature_noise_c);
    for (size_t i = 0; i < faults_.size(); ++i) {
      const Fault& f = faults_[i];
      if (!IsSensorFault(f.kind) || !Active(f, t) || f.target != s->device_id) continue;
      const double hours = static_cast<double>(t - f.start_micros) / 3600e6;
      switch (f.kind) {
        case FaultKind::kSensorDropout:
          ++counters_.dropped;
          return Status::Ok();
        case FaultKind::kSensorStuck:
          if (std::isnan(stuck_value_[i])) stuck_value_[i] = v;
          v = stuck_value_[i];
          break;
        case FaultKind::kSensorDrift:
          v = power ? v * (1 + 0.02 * hours) : v + kDriftPerHour * hours;
          break;
        case FaultKind::kSensorSpike:
          if (rng_.Uniform() < f.rate) v = power ? v * 2.5 : v + rng_.Uniform(15, 25);
          break;
        case FaultKind::kUnitMixup:
          v = v * 9 / 5 + 32;
          break;
        default:
          break;
      }
    }
    if (humidity) v = std::min(v, 100.0);
    line_.clear();
    d.json->Append(Round(v, power      ? 1
                            : humidity ? 0.1
                                       : 0.01),
                   t, seq, line_);  // sensor resolution
    return Deliver(s->device_id, line_, records);
  }
  auto& c = std::get<CoolingMetric>(d.record);
  double heat_w, power_w;
  if (d.source == Device::Source::kCrah) {
    const Crah& u = model_.crahs()[d.index];
    heat_w = u.coil_w;
    power_w = u.fan_w;
    const bool moving = u.airflow_m3s > 0;
    auto air = [&](double celsius, uint64_t channel) {
      return Round(celsius + Noise(d, t, channel) * noise.temperature_noise_c, 0.01);
    };
    c.supply_air_temp_celsius = moving ? std::optional(air(u.supply_c, 0)) : std::nullopt;
    c.return_air_temp_celsius = moving ? std::optional(air(u.return_c, 1)) : std::nullopt;
    c.fan_speed_percent = Round(100 * u.fan_speed, 0.1);
  } else {
    heat_w = model_.plant().load_w;
    power_w = model_.plant().power_w();
  }
  // Efficiency: the share of the unit's energy throughput that is heat moved, Q/(Q+P) =
  // COP/(1+COP).
  c.efficiency_percent = heat_w > 0 ? Round(100 * heat_w / (heat_w + power_w), 0.1) : 0;
  c.power_consumption_watts = Round(power_w, 1);
  c.timestamp_micros = t;
  c.seq = seq;
  line_.clear();
  AppendRecordJson(d.record, line_);
  return Deliver(c.system_id, line_, records);
}

Status Simulator::Deliver(std::string_view key, std::string_view line, Sink& records) {
  std::string corrupted;
  bool reorder = false, duplicate = false;
  for (const Fault& f : faults_) {
    if (!IsTransport(f.kind) || !Active(f, now_micros_) || (f.target != "*" && f.target != key))
      continue;
    switch (f.kind) {
      case FaultKind::kMalformed:
        if (rng_.Uniform() < f.rate) {
          corrupted = Corrupt(line, rng_.Next());
          line = corrupted;
        }
        break;
      case FaultKind::kLate:
        late_.push_back({now_micros_ + kLateDelayMicros, std::string(key), std::string(line)});
        ++counters_.late;
        return Status::Ok();
      case FaultKind::kReorder:
        reorder = true;
        break;
      case FaultKind::kDuplicates:
        duplicate = duplicate || rng_.Uniform() < f.rate;
        break;
      default:
        break;
    }
  }
  const int copies = duplicate ? 2 : 1;
  counters_.duplicates += copies - 1;
  if (!corrupted.empty()) counters_.malformed += copies;
  for (int i = 0; i < copies; ++i) {
    if (reorder) {
      reorder_buffer_.emplace_back(key, line);
      continue;
    }
    ++counters_.records;
    if (Status s = records.Write(key, line); !s.ok()) return s;
  }
  if (reorder_buffer_.size() >= kReorderWindow) {
    for (size_t i = reorder_buffer_.size(); i > 1; --i) {
      std::swap(reorder_buffer_[i - 1], reorder_buffer_[rng_.Next() % i]);
    }
    return FlushReorderBuffer(records);
  }
  return Status::Ok();
}

Status Simulator::EmitDue(Sink& records) {
  const int64_t t = now_micros_;
  if (t < options_.start_micros) return Status::Ok();
  for (Device& d : devices_) {
    if (t % (d.interval_s * kMicros) != 0) continue;
    if (Status s = Send(d, t, records); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Simulator::RunUntil(int64_t until_micros, Sink& records, Sink* labels) {
  // Each pass handles the instant `now` (the model has been stepped to it), then steps to the next
  // one.
  while (now_micros_ < until_micros) {
    if (labels) {
      for (size_t i = 0; i < faults_.size(); ++i) {
        if (label_written_[i] || faults_[i].start_micros > now_micros_) continue;
        label_written_[i] = true;
        if (Status s = WriteLabel(faults_[i], *labels); !s.ok()) return s;
      }
    }
    if (Status s = EmitDue(records); !s.ok()) return s;
    while (!late_.empty() && late_.front().release_micros <= now_micros_) {
      ++counters_.records;
      if (Status s = records.Write(late_.front().key, late_.front().line); !s.ok()) return s;
      late_.pop_front();
    }
    const bool reordering = std::any_of(faults_.begin(), faults_.end(), [&](const Fault& f) {
      return f.kind == FaultKind::kReorder && Active(f, now_micros_);
    });
    if (!reordering) {
      if (Status s = FlushReorderBuffer(records); !s.ok()) return s;
    }
    // The step that ends at a fault's start already runs with the fault, so the sample at START
    // shows it.
    ApplyEquipmentFaults(now_micros_ + step_micros_);
    model_.Step(static_cast<double>(step_micros_) / kMicros);
    now_micros_ += step_micros_;
  }
  return Status::Ok();
}

Status Simulator::FlushReorderBuffer(Sink& records) {
  for (const auto& [k, l] : reorder_buffer_) {
    ++counters_.records;
    if (Status s = records.Write(k, l); !s.ok()) return s;
  }
  reorder_buffer_.clear();
  return Status::Ok();
}

Status Simulator::Finish(Sink& records) {
  if (Status s = FlushReorderBuffer(records); !s.ok()) return s;
  for (const Held& h : late_) {
    ++counters_.records;
    if (Status s = records.Write(h.key, h.line); !s.ok()) return s;
  }
  late_.clear();
  return records.Flush();
}

Result<std::unique_ptr<Simulator>> CreateWithScenarios(const FacilityConfig& facility,
                                                       SimulatorOptions options,
                                                       const std::vector<std::string>& scenarios,
                                                       int64_t scenario_origin) {
  std::vector<std::string> specs = facility.faults;
  specs.insert(specs.end(), scenarios.begin(), scenarios.end());
  for (const std::string& spec : specs) {
    Result<Fault> fault = ParseFault(spec, scenario_origin);
    if (!fault.ok()) return fault.status();
    options.faults.push_back(std::move(*fault));
  }
  return Simulator::Create(facility, std::move(options));
}

Status RunInRealTime(Simulator& s, int64_t anchor_micros, double speed, Sink& records, Sink* labels,
                     const std::function<bool()>& stop) {
  const auto wall_start = std::chrono::steady_clock::now();
  Status status;
  while (!stop() && status.ok()) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    status =
        s.RunUntil(anchor_micros + static_cast<int64_t>(elapsed * speed * 1e6), records, labels);
    if (status.ok()) status = records.Flush();
    if (status.ok() && labels) status = labels->Flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (status.ok()) status = s.Finish(records);
  if (status.ok() && labels) status = labels->Flush();
  return status;
}

}  // namespace dcmon::sim
