// The facility's physics, stepped in simulated time (shared/DOMAIN.md, "A physically grounded
// simulator"): outdoor weather; IT load per rack; per CRAH zone a cold-side air node with thermal
// mass fed by the CRAH units' supply air (spread over neighbouring zones through the floor plenum);
// rack inlet temperatures by height from recirculation; CRAH PI fan control, coil capacity and fan
// affinity; the chilled-water loop and chiller plant with COP from temperatures and waterside
// economizer; UPS losses, lighting, and the two meters. Faults that change physics are switched on
// and off through the setters. Not thread-safe.
//
//   Model m(facility, seed, start_micros);
//   m.Step(5.0);                              // advance 5 simulated seconds
//   double pue = m.meters().facility_w / m.meters().it_w;
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/topology.h"
#include "sim/facility.h"
#include "sim/physics.h"
#include "sim/rng.h"

namespace dcmon::sim {

struct Weather {
  double dry_bulb_c = 0;
  double dew_point_c = 0;
  double rh_percent = 0;
  double wet_bulb_c = 0;
};

struct Rack {
  std::string id;   // "room-1-a03": room id, row letter, position in the row
  std::string row;  // "a"
  int room = 0;
  int zone = 0;  // index into Model::crahs() of the unit whose zone holds this rack
  double rated_w = 0;
  double load_factor = 1;  // fixed per rack: some racks run hotter than others
  double load_noise = 0;   // AR(1) state
  bool blanking_gap = false;
  // Outputs of the last step.
  double power_w = 0;
  double inlet_c[3] = {};  // bottom, middle, top
  double exhaust_c = 0;
  double inlet_rh_percent = 0;  // at the middle inlet
};

struct Crah {
  std::string id;  // "room-1-crah-2"
  int room = 0;
  bool running = true;
  PiController fan_control;
  RoomThermal zone;  // the cold-side air of the zone this unit serves, and the mass around it
  double zone_rack_airflow_m3s = 0;
  double zone_it_w = 0;
  // Outputs of the last step.
  double fan_speed = 0;  // 0..1
  double airflow_m3s = 0;
  double supply_c = 0;
  double return_c = 0;
  double coil_w = 0;  // heat removed at the coil (IT heat reaching it plus fan heat)
  double fan_w = 0;
};

struct Plant {
  bool running = true;
  double chw_supply_c = 0;  // chilled-water supply temperature (rises while the chiller is off)
  double load_w = 0;        // heat arriving from the CRAH coils
  double economizer_fraction = 0;
  double cop = 0;
  double compressor_w = 0;
  double auxiliary_w = 0;  // pumps and tower or dry-cooler fans
  double power_w() const { return compressor_w + auxiliary_w; }
};

struct Meters {
  double it_w = 0;  // meter_it: UPS output
  double facility_w =
      0;  // meter_facility: utility input (0 during a utility outage: the UPS carries IT)
  double cooling_w = 0;  // CRAH fans + chiller plant
  double ups_loss_w = 0;
  double lighting_w = 0;
};

class Model {
 public:
  Model(const FacilityConfig& facility, uint64_t seed, int64_t start_micros);

  // Advances the simulation by dt_s seconds (any step; the thermal nodes sub-step as needed).
  void Step(double dt_s);

  int64_t now_micros() const { return now_micros_; }
  const FacilityConfig& facility() const { return facility_; }
  const Weather& weather() const { return weather_; }
  const std::vector<Rack>& racks() const { return racks_; }
  const std::vector<Crah>& crahs() const { return crahs_; }
  const Plant& plant() const { return plant_; }
  const Meters& meters() const { return meters_; }
  double room_dew_point_c(int room) const { return room_dew_point_c_[room]; }

  // Faults that change physics.
  void SetCrahRunning(size_t crah, bool running) { crahs_[crah].running = running; }
  void SetChillerRunning(bool running) { plant_.running = running; }
  void SetUtilityOutage(bool outage) { utility_outage_ = outage; }
  void SetBlankingGap(size_t rack, bool gap) { racks_[rack].blanking_gap = gap; }
  // Overrides the weather (tests: a cold day and a hot day); NaN returns to the climate curves.
  void SetOutdoorOverride(double dry_bulb_c, double rh_percent);

 private:
  void UpdateWeather(double dt_s);
  void UpdateLoad(double dt_s);
  void UpdateAir(double dt_s);
  void UpdatePlant(double dt_s);
  void UpdateMeters();

  FacilityConfig facility_;
  Rng rng_;
  int64_t now_micros_;
  Weather weather_;
  double weather_noise_c_ = 0;
  double override_dry_bulb_c_;
  double override_rh_percent_;
  bool utility_outage_ = false;
  std::vector<Rack> racks_;
  std::vector<Crah> crahs_;
  // Plenum spread: zone i of a room receives share weights_[i][k] of unit (first_crah + i + k -
  // 1)'s air.
  std::vector<int> room_first_crah_;
  std::vector<double> room_dew_point_c_;
  Plant plant_;
  Meters meters_;
};

// The model's CRAH zones (one per unit, in unit order, with the racks it serves): the topology its
// devices' records do not carry. The meter and plant ids are the simulator's, Topology's defaults.
Topology TopologyOf(const Model& model);
// The topology of `facility` (a preset name or a facility TOML, as LoadFacility): the layout does
// not depend on the seed or the time.
Result<Topology> LoadTopology(std::string_view facility);

}  // namespace dcmon::sim
