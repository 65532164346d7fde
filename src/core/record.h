// The records that flow through dcmon: a sensor reading and a cooling-system metric, the two shapes
// of the original pipeline (shared/fixtures/seed_records.ndjson) plus the optional fields a real
// deployment needs. Plain value types; copy and move freely; no synchronisation.
//
//   SensorReading r{.device_id = "temp_rack-a1", .location = "Server Room A",
//                   .measurement_type = "temperature", .value = 23.5, .timestamp_micros = t};
//   Record rec = r;
//   if (auto* s = std::get_if<SensorReading>(&rec)) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace dcmon {

// Where a device sits. Every part is optional; an empty string means absent (the JSON codec treats
// "" and a missing field alike, so round trips are exact).
struct Placement {
  std::string site;
  std::string room;
  std::string row;
  std::string rack;

  friend bool operator==(const Placement&, const Placement&) = default;
};

// `source_type: "sensor"`: one measurement from one device at one instant.
struct SensorReading {
  // Required (the seed schema).
  std::string device_id;  // stable id of the sensor, e.g. "temp_rack-a1"
  std::string location;   // free-text place as the original pipeline sent it, e.g. "Server Room A"
  std::string measurement_type;  // "temperature", "humidity", "power", ...
  double value = 0;              // finite
  int64_t timestamp_micros = 0;  // event time, UTC microseconds
  // Optional.
  std::string unit;  // "celsius", "percent", "watts", ...
  std::optional<int64_t>
      seq;  // per-device sequence number, >= 0, for loss and duplicate accounting
  Placement placement;
  std::string position;  // on a rack: "inlet_bottom", "inlet_middle", "inlet_top", "exhaust"
  std::string extra;     // unknown top-level fields, kept verbatim as a JSON object ("" if none)

  friend bool operator==(const SensorReading&, const SensorReading&) = default;
};

// `source_type: "cooling"`: the state of one cooling unit (CRAH, CRAC, chiller plant) at one
// instant.
struct CoolingMetric {
  // Required (the seed schema).
  std::string system_id;               // e.g. "hvac_primary_a"
  double efficiency_percent = 0;       // 0..100
  double power_consumption_watts = 0;  // >= 0
  int64_t timestamp_micros = 0;        // event time, UTC microseconds
  // Optional.
  std::optional<int64_t> seq;
  Placement placement;
  std::optional<double> supply_air_temp_celsius;
  std::optional<double> return_air_temp_celsius;
  std::optional<double> fan_speed_percent;  // 0..100
  std::string extra;

  friend bool operator==(const CoolingMetric&, const CoolingMetric&) = default;
};

using Record = std::variant<SensorReading, CoolingMetric>;

// The device a record is about: a sensor's device_id or a cooling unit's system_id.
inline std::string_view DeviceIdOf(const Record& r) {
  if (const auto* s = std::get_if<SensorReading>(&r)) return s->device_id;
  return std::get<CoolingMetric>(r).system_id;
}

}  // namespace dcmon
