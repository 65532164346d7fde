// Physics primitives of the facility simulator, one function per law in shared/DOMAIN.md ("A
// physically grounded simulator"): airflow and temperature rise, psychrometrics, fan affinity,
// chiller COP, economizer fraction, the two-node room thermal mass and a PI loop. Pure functions
// and small value types; no I/O, no randomness; thread-compatible. Units: °C, W, m³/s, J/K,
// seconds, fractions (0..1) unless a name says percent.
//
//   double dt = AirTemperatureRise(10'000, 0.75);           // 10 kW through 0.75 m³/s: ≈ 11.1 K
//   double rh = RelativeHumidityPercent(24.0, 10.0);        // ≈ 41 %
//   RoomThermal room{.air_c = 22, .mass_c = 22, .air_capacity = 45e3 * 100, ...};
//   room.Step(100'000, 0, 1.0);                             // 100 kW of IT heat, cooling lost, one
//   second
#pragma once

namespace dcmon::sim {

// Volumetric heat capacity of air, ρ·c_p ≈ 1.2 kJ/(m³·K).
inline constexpr double kAirVolumetricHeatCapacity = 1200.0;
inline constexpr double kZeroCelsiusInKelvin = 273.15;

// ΔT of air carrying `power_w` of heat at `airflow_m3s`: ΔT = P / (ρ·c_p·V̇).
double AirTemperatureRise(double power_w, double airflow_m3s);

// Airflow that carries `power_w` with a rise of `delta_t_k`: V̇ = P / (ρ·c_p·ΔT).
double AirflowFor(double power_w, double delta_t_k);

// Inlet temperature at a height whose recirculation ratio is r: T_in = T_supply + r·(T_exhaust −
// T_supply).
double InletTemperature(double supply_c, double exhaust_c, double recirculation);

// Magnus formula (a = 17.62, b = 243.12 °C): RH = 100·exp(a·T_d/(b+T_d) − a·T/(b+T)), capped at 100
// %.
double RelativeHumidityPercent(double dry_bulb_c, double dew_point_c);
// Inverse of the above: the dew point of air at `dry_bulb_c` and `rh_percent`.
double DewPoint(double dry_bulb_c, double rh_percent);
// Wet-bulb temperature from dry bulb and RH (Stull 2011; ±0.3 K for RH 5–99 % and −20…50 °C).
double WetBulb(double dry_bulb_c, double rh_percent);

// Fan affinity law: power ∝ speed³.
double FanPower(double rated_power_w, double speed_fraction);

// Chiller COP = η·T_evap/(T_cond − T_evap) in kelvin (η ≈ 0.55, a model choice).
double ChillerCop(double evaporator_c, double condenser_c, double carnot_efficiency = 0.55);

// Free-cooling fraction f = clamp((T_chw_supply − T_wetbulb − approach)/range, 0, 1).
double EconomizerFraction(double chilled_water_supply_c, double wet_bulb_c, double approach_k,
                          double range_k);

// Two thermal nodes, room air and structure (racks, floor, walls):
//   C_air·dT/dt = Q_in − Q_cool − hA·(T − T_m),   C_m·dT_m/dt = hA·(T − T_m).
// Value type; Step integrates with sub-steps small enough to be stable for any dt.
struct RoomThermal {
  double air_c = 22;         // room air temperature
  double mass_c = 22;        // structure temperature
  double air_capacity = 0;   // J/K
  double mass_capacity = 0;  // J/K
  double coupling = 0;       // hA, W/K

  void Step(double heat_in_w, double heat_removed_w, double dt_s);
};

// Proportional-integral controller with output clamped to [min, max] and anti-windup (the integral
// stops growing while the output is saturated). Value type.
struct PiController {
  double kp = 0;
  double ki = 0;
  double min = 0;
  double max = 1;
  double integral = 0;

  // Returns the new output for error = measurement − setpoint (positive error drives the output
  // up).
  double Update(double error, double dt_s);
};

}  // namespace dcmon::sim
