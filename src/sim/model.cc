// Facility physics. The equations and where each number comes from are in docs/simulator.md.
#include "sim/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace dcmon::sim {
namespace {

constexpr double kSecondsPerDay = 86400;
constexpr double kTwoPi = 2 * M_PI;
// Share of a CRAH unit's air that the floor plenum delivers to its own zone; the rest goes to the
// neighbours.
constexpr double kOwnZoneShare = 0.8;
// A coil cannot cool air below the chilled water feeding it plus this approach.
constexpr double kCoilApproachK = 4;
// CRAH fans hold the cold aisle this far above the supply setpoint (a little recirculation, no
// bypass).
constexpr double kColdAisleOffsetK = 0.5;
// A chiller back from a trip pulls the loop down with up to this much capacity above the load (the
// plant's redundant capacity).
constexpr double kPullDownShare = 1.0;
constexpr double kWarmUpSeconds = 3 * 3600;
// Head-pressure control keeps a chiller's lift at or above this on cold days, so COP stays finite.
constexpr double kMinimumLiftK = 15;

std::string RowLabel(int row) {
  std::string label;
  for (int n = row + 1; n > 0; n = (n - 1) / 26)
    label.insert(label.begin(), static_cast<char>('a' + (n - 1) % 26));
  return label;
}

// AR(1) steps of dt_s with time constant tau_s and stationary standard deviation sigma. Built once
// per step and applied to every state that shares the constants (one per rack on large sites).
class Ar1 {
 public:
  Ar1(double dt_s, double tau_s, double sigma)
      : phi_(std::exp(-dt_s / tau_s)), scale_(sigma * std::sqrt(1 - phi_ * phi_)) {}
  double Next(double state, Rng& rng) const { return phi_ * state + scale_ * rng.Normal(); }

 private:
  double phi_;
  double scale_;
};

// Recirculation ratio at inlet height 0 (bottom), 1 (middle), 2 (top). DOMAIN.md: ≈0.03 with
// containment; 0.2–0.4 at the top of a rack with missing blanking panels. Model choice.
double Recirculation(bool containment, bool gap, int height) {
  static constexpr double kContained[3] = {0.01, 0.02, 0.03};
  static constexpr double kOpen[3] = {0.04, 0.10, 0.20};
  if (gap && height == 2) return containment ? 0.25 : 0.35;
  return containment ? kContained[height] : kOpen[height];
}

}  // namespace

Model::Model(const FacilityConfig& facility, uint64_t seed, int64_t start_micros)
    : facility_(facility),
      rng_(seed),
      now_micros_(start_micros - static_cast<int64_t>(kWarmUpSeconds) * 1000000),
      override_dry_bulb_c_(std::numeric_limits<double>::quiet_NaN()),
      override_rh_percent_(std::numeric_limits<double>::quiet_NaN()) {
  for (size_t r = 0; r < facility_.rooms.size(); ++r) {
    const RoomConfig& room = facility_.rooms[r];
    const int first = static_cast<int>(crahs_.size());
    room_first_crah_.push_back(first);
    const double zone_rated_kw =
        room.rows * room.racks_per_row * room.rack_rated_kw / room.crah_units;
    for (int u = 0; u < room.crah_units; ++u) {
      Crah c;
      c.id = fmt::format("{}-crah-{}", room.id, u + 1);
      c.room = static_cast<int>(r);
      const double air = room.air_capacity_kj_per_k_per_kw * 1000 * zone_rated_kw;
      // The structure holds five times the air's heat capacity and exchanges with it over about
      // half an hour.
      c.zone = RoomThermal{.air_c = room.supply_setpoint_c,
                           .mass_c = room.supply_setpoint_c,
                           .air_capacity = air,
                           .mass_capacity = 5 * air,
                           .coupling = air / 1800};
      const double min_speed = room.crah_variable_speed ? room.crah_min_speed : 1.0;
      c.fan_control = PiController{.kp = 0.15, .ki = 0.003, .min = min_speed, .max = 1.0};
      c.fan_control.integral =
          0.6 / c.fan_control.ki;  // start near a typical speed; warm-up settles it
      c.fan_speed = std::max(min_speed, 0.6);
      c.supply_c = room.supply_setpoint_c;
      c.return_c = room.supply_setpoint_c + room.server_delta_t_k;
      crahs_.push_back(std::move(c));
    }
    for (int row = 0; row < room.rows; ++row) {
      for (int i = 0; i < room.racks_per_row; ++i) {
        Rack rack;
        rack.row = RowLabel(row);
        rack.id = fmt::format("{}-{}{:02}", room.id, rack.row, i + 1);
        rack.room = static_cast<int>(r);
        // Zones are equal sections along the rows: racks counted position by position across the
        // rows, so every unit serves the same number of racks (±1) whether it has more or fewer
        // units than a row has racks.
        const int along = i * room.rows + row;
        rack.zone = first + along * room.crah_units / (room.rows * room.racks_per_row);
        rack.rated_w = room.rack_rated_kw * 1000;
        rack.load_factor = rng_.Uniform(0.8, 1.2);
        rack.blanking_gap = rng_.Uniform() < room.blanking_gap_fraction;
        racks_.push_back(std::move(rack));
      }
    }
    room_dew_point_c_.push_back(
        std::clamp(facility_.climate.dew_point_mean_c, room.dew_point_min_c, room.dew_point_max_c));
  }
  plant_.chw_supply_c = facility_.plant.chw_supply_c;
  // Start from settled state: run the physics for a while before the first record. Minute steps:
  // the zones' time constants are several minutes and the thermal nodes sub-step anyway, so the
  // state settles the same as with the sampling step, twelve times cheaper (10,000 racks: large).
  constexpr double kWarmUpStep = 60;
  for (double t = 0; t < kWarmUpSeconds; t += kWarmUpStep) Step(kWarmUpStep);
}

void Model::SetOutdoorOverride(double dry_bulb_c, double rh_percent) {
  override_dry_bulb_c_ = dry_bulb_c;
  override_rh_percent_ = rh_percent;
}

void Model::Step(double dt_s) {
  now_micros_ += static_cast<int64_t>(std::llround(dt_s * 1e6));
  UpdateWeather(dt_s);
  UpdateLoad(dt_s);
  UpdateAir(dt_s);
  UpdatePlant(dt_s);
  UpdateMeters();
}

void Model::UpdateWeather(double dt_s) {
  const ClimateConfig& c = facility_.climate;
  const double day =
      static_cast<double>(now_micros_) / 1e6 / kSecondsPerDay;  // days since the epoch
  const double day_of_year = std::fmod(day, 365.2425);
  const double hour =
      std::fmod(day, 1.0) * 24;  // the site keeps UTC: the model is latitude- and zone-free
  const double annual = std::cos(kTwoPi * (day_of_year - c.peak_day_of_year) / 365.2425);
  const double daily = std::cos(kTwoPi * (hour - 15) / 24);
  weather_noise_c_ = Ar1(dt_s, 6 * 3600, c.noise_c).Next(weather_noise_c_, rng_);
  double dry =
      c.mean_c + c.annual_amplitude_c * annual + c.daily_amplitude_c * daily + weather_noise_c_;
  double dew = std::min(
      c.dew_point_mean_c + c.dew_point_annual_amplitude_c * annual + 0.5 * weather_noise_c_,
      dry - 0.5);
  double rh = RelativeHumidityPercent(dry, dew);
  if (const auto& file = c.weather; !file.empty()) {
    // Recorded weather, interpolated between rows and held beyond the ends.
    auto next = std::lower_bound(file.begin(), file.end(), now_micros_,
                                 [](const WeatherPoint& p, int64_t t) { return p.micros < t; });
    if (next == file.begin() || next == file.end()) {
      const WeatherPoint& p = next == file.end() ? file.back() : file.front();
      dry = p.dry_bulb_c;
      rh = p.rh_percent;
    } else {
      const WeatherPoint& a = *(next - 1);
      const double w = static_cast<double>(now_micros_ - a.micros) /
                       static_cast<double>(next->micros - a.micros);
      dry = a.dry_bulb_c + w * (next->dry_bulb_c - a.dry_bulb_c);
      rh = a.rh_percent + w * (next->rh_percent - a.rh_percent);
    }
    dew = DewPoint(dry, rh);
  }
  if (!std::isnan(override_dry_bulb_c_)) {
    dry = override_dry_bulb_c_;
    rh = override_rh_percent_;
    dew = DewPoint(dry, rh);
  }
  weather_ = Weather{.dry_bulb_c = dry,
                     .dew_point_c = dew,
                     .rh_percent = rh,
                     .wet_bulb_c = WetBulb(dry, std::clamp(rh, 5.0, 99.0))};
  // Room air follows the outdoor dew point slowly (infiltration, make-up air), held inside the
  // humidity control band, and no higher than the cooling coils' surface, where moisture condenses
  // out. Between those limits no moisture is added or removed, so the dew point is conserved
  // through the room.
  const double follow = 1 - std::exp(-dt_s / (2 * 3600));
  const double coil_surface_c = facility_.plant.chw_supply_c + kCoilApproachK;
  for (size_t r = 0; r < room_dew_point_c_.size(); ++r) {
    const RoomConfig& room = facility_.rooms[r];
    const double target =
        std::clamp(dew, room.dew_point_min_c, std::min(room.dew_point_max_c, coil_surface_c));
    room_dew_point_c_[r] += follow * (target - room_dew_point_c_[r]);
  }
}

void Model::UpdateLoad(double dt_s) {
  const LoadConfig& l = facility_.load;
  const double day = static_cast<double>(now_micros_) / 1e6 / kSecondsPerDay;
  const double hour = std::fmod(day, 1.0) * 24;
  const int weekday =
      static_cast<int>(static_cast<int64_t>(day) % 7 + 4) % 7;  // 1970-01-01 was a Thursday
  const bool weekend = weekday == 0 || weekday == 6;
  const double base = l.base_utilization *
                      (1 + l.diurnal_amplitude * std::cos(kTwoPi * (hour - 15) / 24)) *
                      (weekend ? l.weekend_factor : 1.0);
  for (Crah& c : crahs_) c.zone_it_w = 0;
  const Ar1 noise(dt_s, 600, l.noise);
  for (Rack& rack : racks_) {
    rack.load_noise = noise.Next(rack.load_noise, rng_);
    const double u = std::clamp(base * rack.load_factor + rack.load_noise, 0.0, 1.0);
    rack.power_w = rack.rated_w * (l.idle_fraction + (1 - l.idle_fraction) * u);
    crahs_[rack.zone].zone_it_w += rack.power_w;
  }
}

void Model::UpdateAir(double dt_s) {
  const double chw = plant_.chw_supply_c;
  for (size_t r = 0; r < facility_.rooms.size(); ++r) {
    const RoomConfig& room = facility_.rooms[r];
    const int first = room_first_crah_[r];
    const int n = room.crah_units;
    // Units: airflow from the fan speed set last step, supply temperature from the coil.
    for (int j = first; j < first + n; ++j) {
      Crah& c = crahs_[j];
      const bool powered = c.running && !utility_outage_;
      c.airflow_m3s = powered ? c.fan_speed * room.crah_airflow_m3s : 0;
      c.fan_w = powered ? FanPower(room.crah_fan_kw * 1000, c.fan_speed) : 0;
      const double capacity_floor =
          c.airflow_m3s > 0 ? c.return_c - room.crah_capacity_kw * 1000 /
                                               (kAirVolumetricHeatCapacity * c.airflow_m3s)
                            : room.supply_setpoint_c;
      c.supply_c = std::max({room.supply_setpoint_c, chw + kCoilApproachK, capacity_floor});
    }
    // The plenum spreads each unit's air: kOwnZoneShare to its own zone, the rest evenly to its
    // neighbours.
    auto share = [n](int unit, int zone) {
      if (n == 1) return unit == zone ? 1.0 : 0.0;
      const int neighbours = (unit > 0) + (unit < n - 1);
      if (unit == zone) return 1 - neighbours * (1 - kOwnZoneShare) / 2;
      return std::abs(unit - zone) == 1 ? (1 - kOwnZoneShare) / 2 : 0.0;
    };
    std::vector<double> zone_return(n);
    for (int i = 0; i < n; ++i) {
      Crah& z = crahs_[first + i];
      double supply_flow = 0;
      double supply_heat = 0;  // Σ flow·temperature
      for (int k = std::max(0, i - 1); k <= std::min(n - 1, i + 1); ++k) {
        const double f = share(k, i) * crahs_[first + k].airflow_m3s;
        supply_flow += f;
        supply_heat += f * crahs_[first + k].supply_c;
      }
      const double rack_flow = AirflowFor(z.zone_it_w, room.server_delta_t_k);
      z.zone_rack_airflow_m3s = rack_flow;
      const double cold = z.zone.air_c;
      const double supply_c = supply_flow > 0 ? supply_heat / supply_flow : cold;
      // Supply air replaces cold-aisle air; when the units deliver less than the racks draw, the
      // racks pull the shortfall from their own exhaust, which brings that share of the IT heat
      // back into the cold side.
      double heat = kAirVolumetricHeatCapacity * supply_flow * (supply_c - cold);
      if (supply_flow < rack_flow) heat += z.zone_it_w * (1 - supply_flow / rack_flow);
      z.zone.Step(heat, 0, dt_s);
      const double exhaust = cold + room.server_delta_t_k;
      zone_return[i] = supply_flow >= rack_flow && supply_flow > 0
                           ? (rack_flow * exhaust + (supply_flow - rack_flow) * cold) / supply_flow
                           : exhaust;
    }
    // Units take back air in the proportions they delivered it. Fans follow the warmest cold aisle
    // among the zones a unit feeds (rack-inlet sensor control), so neighbours ramp up when a unit
    // fails.
    for (int j = 0; j < n; ++j) {
      Crah& c = crahs_[first + j];
      double ret = 0;
      double warmest = -1e9;
      for (int i = std::max(0, j - 1); i <= std::min(n - 1, j + 1); ++i) {
        ret += share(j, i) * zone_return[i];
        warmest = std::max(warmest, crahs_[first + i].zone.air_c);
      }
      c.return_c = ret;
      c.coil_w =
          c.airflow_m3s > 0
              ? kAirVolumetricHeatCapacity * c.airflow_m3s * (c.return_c - c.supply_c) + c.fan_w
              : 0;
      const double error = warmest - (room.supply_setpoint_c + kColdAisleOffsetK);
      const bool powered = c.running && !utility_outage_;
      c.fan_speed = !powered                   ? 0
                    : room.crah_variable_speed ? c.fan_control.Update(error, dt_s)
                                               : 1.0;
    }
  }
  // Rack inlets by height, exhaust, and humidity at the middle inlet.
  for (Rack& rack : racks_) {
    const RoomConfig& room = facility_.rooms[rack.room];
    const double cold = crahs_[rack.zone].zone.air_c;
    double sum = 0;
    for (int h = 0; h < 3; ++h) {
      rack.inlet_c[h] = InletTemperature(cold, cold + room.server_delta_t_k,
                                         Recirculation(room.containment, rack.blanking_gap, h));
      sum += rack.inlet_c[h];
    }
    rack.exhaust_c = sum / 3 + room.server_delta_t_k;
    rack.inlet_rh_percent = RelativeHumidityPercent(rack.inlet_c[1], room_dew_point_c_[rack.room]);
  }
}

void Model::UpdatePlant(double dt_s) {
  const PlantConfig& p = facility_.plant;
  plant_.load_w = 0;
  for (const Crah& c : crahs_) plant_.load_w += c.coil_w;
  const bool powered = !utility_outage_;
  plant_.economizer_fraction =
      p.economizer && powered ? EconomizerFraction(p.chw_supply_c, weather_.wet_bulb_c,
                                                   p.economizer_approach_k, p.economizer_range_k)
                              : 0;
  const double evaporator_c = p.chw_supply_c - p.evaporator_approach_k;
  const double condenser_c = std::max(
      (p.water_cooled ? weather_.wet_bulb_c : weather_.dry_bulb_c) + p.condenser_approach_k,
      evaporator_c + kMinimumLiftK);
  plant_.cop = ChillerCop(evaporator_c, condenser_c, p.carnot_efficiency);
  const double loop_capacity = p.loop_capacity_mj_per_k * 1e6;
  const double free_w = plant_.economizer_fraction * plant_.load_w;
  double chiller_w = 0;
  if (plant_.running && powered) {
    const double pull_down =
        std::clamp(loop_capacity * (plant_.chw_supply_c - p.chw_supply_c) / dt_s, 0.0,
                   kPullDownShare * std::max(plant_.load_w, 1.0));
    chiller_w = plant_.load_w - free_w + pull_down;
  }
  plant_.chw_supply_c =
      std::max(p.chw_supply_c,
               plant_.chw_supply_c + dt_s * (plant_.load_w - free_w - chiller_w) / loop_capacity);
  plant_.compressor_w = chiller_w / plant_.cop;
  plant_.auxiliary_w = powered ? p.auxiliary_fraction * (plant_.load_w + plant_.compressor_w) : 0;
}

void Model::UpdateMeters() {
  const ElectricalConfig& e = facility_.electrical;
  meters_.it_w = 0;
  for (const Rack& r : racks_) meters_.it_w += r.power_w;
  double fans = 0;
  for (const Crah& c : crahs_) fans += c.fan_w;
  meters_.cooling_w = fans + plant_.power_w();
  meters_.ups_loss_w = e.ups_loss_fraction * meters_.it_w;
  meters_.lighting_w = e.lighting_kw * 1000;
  meters_.facility_w =
      utility_outage_ ? 0
                      : meters_.it_w + meters_.ups_loss_w + meters_.cooling_w + meters_.lighting_w;
}

Topology TopologyOf(const Model& model) {
  Topology t;
  for (const Crah& u : model.crahs())
    t.zones.push_back({.crah = u.id, .room = model.facility().rooms[u.room].id, .racks = {}});
  for (const Rack& r : model.racks()) t.zones[r.zone].racks.push_back(r.id);
  return t;
}

Result<Topology> LoadTopology(std::string_view facility) {
  Result<FacilityConfig> config = LoadFacility(facility);
  if (!config.ok()) return config.status();
  return TopologyOf(Model(*config, 0, 0));
}

}  // namespace dcmon::sim
