// The facility detector: every detector of dcmon::detect wired to a facility's topology, fed one
// record at a time (from the loader after each commit, or from a recorded NDJSON file). Rack
// sensors are judged by the relations the room must obey rather than by their own level (an inlet
// that follows its zone's supply air is not anomalous however warm the supply got): inlet - zone
// supply; exhaust - mean inlet vs rack power (server airflow); CRAH return - supply, times fan
// speed, vs its zone's IT power; facility power / IT power (PUE); a rack's dew point (from its
// humidity and middle inlet) vs its room's. Cooling units, the plant and the meters are judged by
// their own level, and every sensor by its health. A broken relation names the device that broke
// it: the stopped or upset upstream unit when there is one, else the sensor whose relation broke.
// One anomaly per incident: a (device, detector) pair reports again only after it cleared and
// `repeat_after_s` passed. Not thread-safe; one instance per facility.
//
//   Topology topo = ...;                       // zones: CRAH id, room, rack ids
//   FacilityDetector det(FacilityDetectorOptions{}, topo, [](const Anomaly& a) { ... });
//   for (const Record& r : records) det.Observe(r);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "core/topology.h"
#include "detect/anomaly.h"
#include "detect/sensor_health.h"
#include "detect/series_detector.h"

namespace dcmon::detect {

// Topology (core/topology.h): devices not in a zone are judged on their own level.

struct FacilityDetectorOptions {
  SeriesOptions series;             // every baseline, level and relation residual alike
  HealthOptions health;             // every sensor's health
  double repeat_after_s = 600;      // an onset this soon after the last one is the same incident
  double upset_hold_s = 3600;       // an upstream unit counts as upset this long after it was
  double implausible_jump_c = 5;    // a temperature jump this large in one sample is the sensor
  double implausible_jump_rh = 10;  // the same for relative humidity, percent points
  double implausible_power_ratio = 1.8;   // a rack's power jumping by this factor in one sample
  double temperature_min_sigma_c = 0.05;  // temperature residuals' spread floor: sensor accuracy
  double power_min_sigma_share = 0.015;   // IT and plant power's spread floor, share of level: load
                                          // changes under ~10 % are workload, not faults
  double delta_t_min_sigma_share = 0.025;  // crah-delta-t's spread floor, share of the heat its
                                           // zone predicts: a unit's neighbours carry 20 % of
                                           // its air, so its split moves by percents as fans settle
  // Silence (dropouts) judged at the newest record's event time; false: only at AdvanceTo's, for
  // inputs whose sources run apart in event time (Kafka partitions: the online detector's
  // watermark).
  bool silence_on_records = true;
  double pue_min_sigma_share = 0.005;  // the PUE's spread floor, share of its level: the
                                       // accuracy of its two meters (class 0.5, IEC 62053-22)
  Status Validate() const;
};

class FacilityDetector {
 public:
  FacilityDetector(const FacilityDetectorOptions& options, const Topology& topology,
                   AnomalyCallback on_anomaly);
  ~FacilityDetector();

  // One record in arrival order; anomalies go to the callback before it returns. Returns the
  // highest score any detector gave this record (0 for a duplicate or a record out of order). Also
  // advances event time (dropout checks) to the record's timestamp.
  double Observe(const Record& record);
  // Advances event time without a record: devices silent for too long are reported as dropouts.
  void AdvanceTo(int64_t now_micros);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dcmon::detect
