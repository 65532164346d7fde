// What every detector in dcmon::detect reports: one Anomaly per onset (a detector's score for a
// device rising through the alert level), with the device it blames, the score, which detector
// saw it, whether it is a sensor problem or a facility fault, and a sentence for an operator. The
// store's anomalies table, GET /api/v1/anomalies and the alert engine's `anomaly` rule kind consume
// this struct (issue 12). Value types.
//
//   detector.Observe(record, [](const Anomaly& a) { store.Append(a); });
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace dcmon::detect {

// Which detector produced an anomaly. Names (DetectorName) are stable: they are stored and served.
enum class DetectorKind {
  kLevel,        // per-series robust seasonal baseline: the value left its learned band
  kInletSupply,  // rack inlet vs its CRAH zone's supply air
  kAirflow,      // exhaust - inlet vs rack power
  kCrahDeltaT,   // CRAH return - supply vs the heat its zone's racks put out
  kPue,          // facility power vs IT power
  kDewPoint,     // humidity vs dew point: a rack's dew point vs its room's
  kUnitStopped,  // a cooling unit that was running reports no airflow / no power
  kStuck,        // sensor health: the value stopped changing
  kRail,         // sensor health: flat at a rail value (0, 100 %RH, 85 or -127 degC, ...)
  kDrift,        // sensor health: a slow departure from its neighbours
  kDropout,      // sensor health: samples stopped arriving
  kBurst,        // sensor health: samples arrive faster than the device's cadence
  kImplausible,  // sensor health: a jump no physical process makes within one sample
};

std::string_view DetectorName(DetectorKind kind);
// The detector of a stable name; false for a name no detector has.
bool DetectorFromName(std::string_view name, DetectorKind& kind);

// Sensor problems are the sensor's own fault ("replace the probe"); facility faults are real
// conditions in the room ("a CRAH tripped"). The alert engine routes them differently.
enum class Category { kFacility, kSensor };

std::string_view CategoryName(Category category);

struct Anomaly {
  std::string device;        // the device blamed: a sensor id, a CRAH id, "meter_facility", ...
  int64_t timestamp_micros;  // event time of the sample that raised the score through the level
  double value = 0;          // that sample's value (the relation's residual for relations)
  double score = 0;          // in [0, 1]; see Score() in score.h for the meaning
  DetectorKind detector = DetectorKind::kLevel;
  Category category = Category::kFacility;
  std::string explanation;  // "inlet 4.1 degC above what room-1-crah-2's supply air predicts"
};

using AnomalyCallback = std::function<void(const Anomaly&)>;

}  // namespace dcmon::detect
