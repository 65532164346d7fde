// The facility description the simulator runs: site climate, IT load profile, rooms with racks and
// CRAH units, the chilled-water plant, electrical losses, sampling intervals and sensor noise.
// Loaded from TOML (config/facility/*.toml, documented field by field in docs/simulator.md); the
// shipped presets are compiled into the binary so `dcmon simulate --facility small` works from any
// directory. Plain value types.
//
//   Result<FacilityConfig> f = LoadFacility("small");             // a preset name, or a path to a
//   .toml file if (!f.ok()) { /* "rooms[0].rack_rated_kw: must be > 0" */ }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dcmon::sim {

// One row of a weather file.
struct WeatherPoint {
  int64_t micros = 0;
  double dry_bulb_c = 0;
  double rh_percent = 0;
};

// Outdoor weather as smooth curves: annual cosine peaking on `peak_day_of_year`, daily cosine
// peaking at 15:00, plus slow random weather noise; or, when `weather_csv` is set, the recorded
// weather in that file.
struct ClimateConfig {
  double mean_c = 12;             // annual mean dry bulb
  double annual_amplitude_c = 8;  // half the summer-winter swing
  double daily_amplitude_c = 5;   // half the day-night swing
  double dew_point_mean_c = 6;    // annual mean outdoor dew point
  double dew_point_annual_amplitude_c = 5;
  int peak_day_of_year = 200;  // warmest day (1..366)
  double noise_c = 1.5;        // standard deviation of the weather noise
  // CSV with a header `timestamp,dry_bulb_c,rh_percent` and rows in time order (hourly or any
  // spacing), interpolated linearly and held at the first/last row outside its range. A relative
  // path is relative to the facility file. Replaces the curves above.
  std::string weather_csv;
  std::vector<WeatherPoint> weather;  // the file's rows, loaded with the facility
};

// IT utilisation u(t) in [0, 1]: base · (1 + diurnal·cos(2π(h − 15)/24)) · (weekend factor on
// Sat/Sun) + AR(1).
struct LoadConfig {
  double base_utilization = 0.55;
  double diurnal_amplitude = 0.2;  // 0.1–0.3 per DOMAIN.md
  double weekend_factor = 0.9;
  double noise = 0.03;         // AR(1) innovation standard deviation per rack
  double idle_fraction = 0.5;  // P_idle / P_max
};

struct RoomConfig {
  std::string id;    // "room-1": used in device ids
  std::string name;  // "Room 1": the records' `location`
  int rows = 2;
  int racks_per_row = 10;
  double rack_rated_kw = 8;  // P_max per rack
  bool containment = true;   // cold/hot aisle containment
  double blanking_gap_fraction =
      0;                        // share of racks with missing blanking panels (hot spot at the top)
  int crah_units = 3;           // spread along the rows; each serves its zone
  double crah_airflow_m3s = 8;  // rated airflow per unit
  double crah_fan_kw = 5;       // fan power at full speed per unit
  double crah_capacity_kw = 150;    // sensible cooling capacity per unit
  double crah_min_speed = 0.3;      // variable-speed fans do not go below this
  bool crah_variable_speed = true;  // false: constant-speed fans (legacy CRACs)
  double supply_setpoint_c = 20;    // supply air temperature setpoint
  double server_delta_t_k = 12;     // air temperature rise through the servers
  double air_capacity_kj_per_k_per_kw =
      45;                        // cold-side thermal capacity per kW of rated IT (30–60)
  double dew_point_min_c = -12;  // humidification floor (ASHRAE lower limit)
  double dew_point_max_c = 15;   // dehumidification ceiling
};

struct PlantConfig {
  bool water_cooled = false;         // condenser: cooling tower (wet bulb) or air (dry bulb)
  double chw_supply_c = 10;          // chilled-water supply setpoint
  double evaporator_approach_k = 4;  // T_evap = chw supply − approach
  double condenser_approach_k = 10;  // T_cond = (wet or dry bulb) + approach: ≈4 K water, ≈10 K air
  double carnot_efficiency = 0.55;  // η in COP = η·T_evap/(T_cond − T_evap)
  bool economizer = false;          // waterside free cooling
  double economizer_approach_k = 3;
  double economizer_range_k = 6;
  double auxiliary_fraction =
      0.04;  // pumps and tower/dry-cooler fans, as a fraction of the heat rejected
  double loop_capacity_mj_per_k =
      40;  // chilled-water loop thermal mass (how fast it warms after a trip)
};

struct ElectricalConfig {
  double ups_loss_fraction = 0.06;  // UPS and distribution losses, fraction of IT power (0.05–0.10)
  double lighting_kw = 5;
};

// How often each kind of record is sampled, in seconds of simulated time.
struct SamplingConfig {
  int temperature_s = 30;
  int humidity_s = 60;
  int power_s = 15;
  int cooling_s = 30;
  int meter_s = 15;
  int weather_s = 300;
};

// Measurement noise of the sensors, added to each sample (not to the physics) before the sensor's
// resolution rounds it: real probes repeat to a few hundredths of a degree, so live air never reads
// one constant value. Standard deviations; 0 turns a kind off. *Model choice* (DOMAIN.md gives no
// figure): digital rack probes repeat to 0.04–0.15 °C and 0.1–0.25 %RH (Sensirion SHT3x's
// datasheet), metering PDUs well inside their 1 % accuracy class.
struct SensorConfig {
  double temperature_noise_c = 0.05;     // rack, CRAH supply/return and outdoor temperatures
  double humidity_noise_percent = 0.15;  // relative humidity, percent points
  double power_noise_share = 0.001;      // rack PDUs and the two meters, share of the reading
};

struct FacilityConfig {
  std::string name;
  std::string site = "dc1";
  ClimateConfig climate;
  LoadConfig load;
  std::vector<RoomConfig> rooms;
  PlantConfig plant;
  ElectricalConfig electrical;
  SamplingConfig sampling;
  SensorConfig sensors;
  std::vector<std::string> faults;  // scheduled fault SPECs, as for `dcmon simulate --scenario`

  // Checks every field's range; the message names the field ("rooms[1].crah_units: must be at least
  // 1").
  Status Validate() const;
  int RackCount() const;
};

// Names of the presets compiled into the binary: small, legacy, hyperscale, large.
std::vector<std::string_view> FacilityPresetNames();

// `name_or_path` is a preset name or a path to a TOML file (anything containing '/' or ending in
// .toml).
Result<FacilityConfig> LoadFacility(std::string_view name_or_path);

// Parses TOML text; `origin` names the source in error messages. A weather_csv path is read
// relative to `base_dir` (the current directory when empty).
Result<FacilityConfig> ParseFacility(std::string_view toml, std::string_view origin,
                                     std::string_view base_dir = "");

// Reads a weather CSV (see ClimateConfig::weather_csv); errors name the line and the column.
Result<std::vector<WeatherPoint>> LoadWeatherCsv(const std::string& path);

}  // namespace dcmon::sim
