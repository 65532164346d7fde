// Scheduled faults: what can go wrong in the simulated facility, when, and to which device. Parsed
// from the contract's SPEC, `KIND[:TARGET]@START[+DURATION][*RATE]`, e.g. "crah-trip@2h+30m",
// "sensor-drift:room-1-a03-inlet-top@90m", "malformed@2025-08-21T16:00:00Z+1h*0.05". Each fault
// becomes one ground-truth label. Value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dcmon::sim {

enum class FaultKind {
  // Equipment: change the physics.
  kCrahTrip,
  kChillerTrip,
  kUtilityOutage,
  kBlankingGap,
  // Sensors: change what one device reports.
  kSensorDrift,
  kSensorStuck,
  kSensorSpike,
  kSensorDropout,
  kUnitMixup,
  // Transport: change the record stream.
  kDuplicates,
  kReorder,
  kLate,
  kMalformed,
};

std::string_view FaultKindName(FaultKind kind);
std::vector<std::string_view> FaultKindNames();

struct Fault {
  FaultKind kind;
  std::string target;  // a device id; empty until resolved (chosen deterministically from the seed)
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  double rate = 0;   // spikes, duplicates, malformed lines: share of records affected
  std::string spec;  // as written, for messages
};

// Parses SPEC; START is relative to `sim_start_micros` ("90m", "2h", "1h30m", "45s", "1d") or RFC
// 3339. DURATION defaults per kind (docs/simulator.md). Errors say what part is wrong: "scenario
// \"crah-trip@soon\": START: expected a duration like 90m or an RFC 3339 time".
Result<Fault> ParseFault(std::string_view spec, int64_t sim_start_micros);

// "90m" -> 5400 s; "1h30m", "2d", "45s". Exposed for the CLI's --speed/--duration style arguments.
Result<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace dcmon::sim
