// Sensor health, judged per device from its own samples: stuck (the value stopped changing for
// far longer than its usual runs of repeats), flat at a rail value (0, 85 or -127 degC, 0 or
// 100 %RH: what a probe reports when it fails or loses power), dropouts (silent for several of its
// own cadences) and bursts (samples faster than its cadence: a replaying gateway). These are
// sensor problems, reported apart from facility faults. O(1) work and memory per sample. Not
// thread-safe; one per device.
//
//   SensorHealth h;
//   HealthFinding f = h.Observe(t, value);       // on every sample
//   bool silent = h.Silent(now_micros);          // from a timer: nothing came for too long
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"

namespace dcmon::detect {

struct HealthOptions {
  double stuck_factor = 12;     // stuck: unchanged for this many times its usual run of repeats
  int stuck_min_points = 20;    // ... and for at least this many samples
  int stuck_min_changes = 16;   // judged only after this many changes were seen (a usual run)
  int rail_points = 3;          // flat at a rail value for this many samples
  double dropout_cadences = 4;  // silent for this many cadences: a dropout
  double burst_cadences = 16;   // more than this many extra samples within the leak: a burst
  Status Validate() const;
};

enum class HealthFinding { kNone, kStuck, kRail, kBurst };

class SensorHealth {
 public:
  // `rails`: the values this kind of sensor reports when it fails (must outlive the object;
  // kTemperatureRails and kHumidityRails below are static).
  explicit SensorHealth(const HealthOptions& options = {}, std::span<const double> rails = {});

  // One sample in arrival order; returns the worst finding it shows (kNone when healthy).
  HealthFinding Observe(int64_t timestamp_micros, double value);
  // True when nothing arrived for dropout_cadences cadences before `now_micros`.
  bool Silent(int64_t now_micros) const;
  double cadence_s() const { return cadence_s_; }
  int run() const { return run_; }                  // samples in the current run of one value
  int longest_run() const { return longest_run_; }  // longest finished run

 private:
  HealthOptions options_;
  std::span<const double> rails_;
  int64_t last_micros_ = 0;
  double last_value_ = 0;
  double cadence_s_ = 0;
  double mean_run_ = 1;  // usual length of a run of identical values
  int64_t changes_ = 0;
  int64_t samples_ = 0;
  int run_ = 1;  // current run of identical values
  int longest_run_ = 1;
  double bucket_ = 0;  // leaky bucket: +1 per sample, -1 per cadence
};

inline constexpr double kTemperatureRails[] = {-127, -40, 0, 85, 125};
inline constexpr double kHumidityRails[] = {0, 100};

}  // namespace dcmon::detect
