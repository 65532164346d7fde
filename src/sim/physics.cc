#include "sim/physics.h"

#include <algorithm>
#include <cmath>

namespace dcmon::sim {
namespace {

constexpr double kMagnusA = 17.62;
constexpr double kMagnusB = 243.12;

}  // namespace

double AirTemperatureRise(double power_w, double airflow_m3s) {
  return power_w / (kAirVolumetricHeatCapacity * airflow_m3s);
}

double AirflowFor(double power_w, double delta_t_k) {
  return power_w / (kAirVolumetricHeatCapacity * delta_t_k);
}

double InletTemperature(double supply_c, double exhaust_c, double recirculation) {
  return supply_c + recirculation * (exhaust_c - supply_c);
}

double RelativeHumidityPercent(double dry_bulb_c, double dew_point_c) {
  const double rh = 100.0 * std::exp(kMagnusA * dew_point_c / (kMagnusB + dew_point_c) -
                                     kMagnusA * dry_bulb_c / (kMagnusB + dry_bulb_c));
  return std::min(rh, 100.0);
}

double DewPoint(double dry_bulb_c, double rh_percent) {
  const double gamma =
      std::log(rh_percent / 100.0) + kMagnusA * dry_bulb_c / (kMagnusB + dry_bulb_c);
  return kMagnusB * gamma / (kMagnusA - gamma);
}

double WetBulb(double t, double rh) {
  return t * std::atan(0.151977 * std::sqrt(rh + 8.313659)) + std::atan(t + rh) -
         std::atan(rh - 1.676331) + 0.00391838 * std::pow(rh, 1.5) * std::atan(0.023101 * rh) -
         4.686035;
}

double FanPower(double rated_power_w, double speed_fraction) {
  const double s = std::clamp(speed_fraction, 0.0, 1.0);
  return rated_power_w * s * s * s;
}

double ChillerCop(double evaporator_c, double condenser_c, double carnot_efficiency) {
  const double evap_k = evaporator_c + kZeroCelsiusInKelvin;
  const double lift_k =
      std::max(condenser_c - evaporator_c, 1.0);  // a lift near zero is not a chiller
  return carnot_efficiency * evap_k / lift_k;
}

double EconomizerFraction(double chilled_water_supply_c, double wet_bulb_c, double approach_k,
                          double range_k) {
  return std::clamp((chilled_water_supply_c - wet_bulb_c - approach_k) / range_k, 0.0, 1.0);
}

void RoomThermal::Step(double heat_in_w, double heat_removed_w, double dt_s) {
  // Explicit Euler is stable while dt < C/hA for both nodes; keep sub-steps well inside that.
  const double limit = 0.2 * std::min(air_capacity, mass_capacity) / std::max(coupling, 1e-9);
  const int steps = std::max(1, static_cast<int>(std::ceil(dt_s / limit)));
  const double h = dt_s / steps;
  for (int i = 0; i < steps; ++i) {
    const double exchange = coupling * (air_c - mass_c);
    air_c += h * (heat_in_w - heat_removed_w - exchange) / air_capacity;
    mass_c += h * exchange / mass_capacity;
  }
}

double PiController::Update(double error, double dt_s) {
  const double unclamped = kp * error + ki * (integral + error * dt_s);
  const double out = std::clamp(unclamped, min, max);
  if (out == unclamped) integral += error * dt_s;  // anti-windup: integrate only when not saturated
  return out;
}

}  // namespace dcmon::sim
