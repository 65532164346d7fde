#include "detect/sensor_health.h"

#include <algorithm>
#include <cmath>

namespace dcmon::detect {

Status HealthOptions::Validate() const {
  if (!(stuck_factor >= 1)) return InvalidArgument("stuck_factor: must be at least 1");
  if (stuck_min_points < 2) return InvalidArgument("stuck_min_points: must be at least 2");
  if (stuck_min_changes < 1) return InvalidArgument("stuck_min_changes: must be at least 1");
  if (rail_points < 1) return InvalidArgument("rail_points: must be at least 1");
  if (!(dropout_cadences > 1)) return InvalidArgument("dropout_cadences: must be above 1");
  if (!(burst_cadences >= 1)) return InvalidArgument("burst_cadences: must be at least 1");
  return Status::Ok();
}

SensorHealth::SensorHealth(const HealthOptions& options, std::span<const double> rails)
    : options_(options), rails_(rails) {}

HealthFinding SensorHealth::Observe(int64_t t, double value) {
  ++samples_;
  if (samples_ == 1) {
    last_micros_ = t;
    last_value_ = value;
    return HealthFinding::kNone;
  }
  const double dt = static_cast<double>(t - last_micros_) / 1e6;
  if (dt > 0) {
    cadence_s_ =
        cadence_s_ == 0
            ? dt
            : cadence_s_ + 0.05 * (std::clamp(dt, 0.5 * cadence_s_, 2 * cadence_s_) - cadence_s_);
  }
  // Leak by elapsed cadences (bounded below at 0): a device on its cadence keeps the bucket near 0.
  if (cadence_s_ > 0) bucket_ = std::max(0.0, bucket_ + 1 - std::max(0.0, dt) / cadence_s_);
  if (t > last_micros_) last_micros_ = t;

  if (value == last_value_) {
    ++run_;
  } else {
    ++changes_;
    mean_run_ +=
        (changes_ < 16 ? 1.0 / static_cast<double>(changes_) : 1.0 / 16) * (run_ - mean_run_);
    longest_run_ = std::max(longest_run_, run_);
    run_ = 1;
    last_value_ = value;
  }
  if (cadence_s_ > 0 && bucket_ > options_.burst_cadences) return HealthFinding::kBurst;
  if (run_ >= options_.rail_points && changes_ > 0 &&
      std::find(rails_.begin(), rails_.end(), value) != rails_.end()) {
    return HealthFinding::kRail;
  }
  if (changes_ >= options_.stuck_min_changes &&
      run_ >= std::max<double>(options_.stuck_min_points, options_.stuck_factor * mean_run_)) {
    return HealthFinding::kStuck;
  }
  return HealthFinding::kNone;
}

bool SensorHealth::Silent(int64_t now_micros) const {
  if (samples_ < 2 || cadence_s_ <= 0) return false;
  return static_cast<double>(now_micros - last_micros_) / 1e6 >
         options_.dropout_cadences * cadence_s_;
}

}  // namespace dcmon::detect
