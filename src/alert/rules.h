// Alert rules: what to watch, when it is trouble, and what to tell the operator. Read from TOML
// (config/alerts.toml ships the defaults; docs/alerting.md is the format). Value types.
//
//   Result<std::vector<Rule>> rules = LoadRules("config/alerts.toml");
//   Result<std::vector<Rule>> same = ParseRules(text, "alerts.toml");
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "detect/anomaly.h"

namespace dcmon::alert {

enum class RuleKind {
  kThreshold,  // value beyond `level` for `for`; clears past `clear` for `keep_firing_for`
  kRate,       // value moved more than `delta` within `window` (either direction)
  kStale,      // no sample for `after`, judged on event time and on ingest time separately
  kStuck,      // value unchanged for `window`
  kKpi,        // a facility KPI (`kpi`, fed by Engine::ObserveKpi) beyond `level`, as a threshold
  kAnomaly,    // a detector (detect/) reported an anomaly scoring `level` or more; fires at once,
               // resolves `keep_firing_for` after the device's last such anomaly
};

// What a problem is about: a facility problem (air, power, cooling) or a broken sensor.
// A firing sensor alert on a device inhibits the facility alerts of that device.
enum class Category { kFacility, kSensor };

// Which records a rule reads. Empty strings match anything.
struct Selector {
  std::string source;            // "sensor" or "cooling"
  std::string measurement_type;  // sensors: "temperature", "humidity", "power"
  std::string position_prefix;   // sensors: "inlet" matches inlet_bottom/middle/top; anomaly
                                 // rules: the blamed device's position, from its records
  std::string device;            // one device id, e.g. "meter_facility"
  std::string device_prefix;     // e.g. "chiller-plant" or "room-"
  // The number read: "value" for sensors; for cooling units "fan_speed_percent",
  // "supply_air_temp_celsius", "return_air_temp_celsius", "efficiency_percent",
  // "power_consumption_watts". A record without the field is not evaluated.
  std::string field = "value";
  // kpi rules: the facility KPI watched ("pue_hour", "cooling_share"); they match no record.
  std::string kpi;
  // anomaly rules: the detector's stable name (detect::DetectorName: "drift", "stuck",
  // "inlet-supply", ...); empty matches every detector.
  std::string detector;
};

struct Rule {
  std::string name;  // alertname, e.g. "InletTemperatureHigh"
  RuleKind kind = RuleKind::kThreshold;
  Category category = Category::kFacility;
  Selector select;
  bool below = false;                  // threshold: trouble when value < level (else > level)
  double level = 0;                    // threshold: trouble beyond this; anomaly: the least score
  double clear = 0;                    // threshold: resolved only past this (hysteresis)
  int64_t for_micros = 0;              // threshold: must hold this long before firing
  int64_t keep_firing_for_micros = 0;  // threshold, anomaly: stays firing this long after clearing
  double delta = 0;                    // rate: allowed change within `window`
  int64_t window_micros = 0;           // rate, stuck
  int64_t after_micros = 0;            // stale: silence this long is stale
  // A CRAH unit rule: its alert is the incident of the unit's zone (Topology), names the racks
  // and inhibits the facility alerts of those racks.
  bool zone_incident = false;
  // A site-wide cause (utility power, chiller plant): while it fires, every other facility alert
  // is inhibited, zone incidents included (a utility outage stops every CRAH fan).
  bool site_incident = false;
  // Incidents: for this long after resolving, new facility alerts it would have inhibited are
  // still explained by it (a zone takes minutes to cool down once its unit restarts).
  int64_t settle_micros = 0;
  std::string severity;                       // "critical", "warning", "info"
  std::string runbook;                        // annotation: what the operator does
  std::string summary;                        // annotation: one line
  std::map<std::string, std::string> labels;  // extra labels on every alert of the rule

  // Checks every field for the rule's kind; the message names the rule and the field.
  Status Validate() const;
  bool Matches(const Record& record) const;  // never for anomaly rules: they read anomalies
  // Anomaly rules: the anomaly's detector, device and score (at or above `level`); the engine
  // checks position_prefix against the device's records.
  bool MatchesAnomaly(const detect::Anomaly& anomaly) const;
  // The rule's number in `record`, or false when the record does not carry it.
  bool Read(const Record& record, double& value) const;
};

std::string_view RuleKindName(RuleKind kind);
std::string_view CategoryName(Category category);

// Parses `[[rule]]` tables. Errors name the origin, the rule index or name, and the field:
// "alerts.toml: rule[2] (InletHigh).for: expected a duration like 5m, got \"soon\"".
Result<std::vector<Rule>> ParseRules(std::string_view toml, std::string_view origin);
Result<std::vector<Rule>> LoadRules(const std::string& path);

}  // namespace dcmon::alert
