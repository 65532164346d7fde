// Timestamps: RFC 3339 parsing and formatting. dcmon keeps every instant as int64 microseconds
// since the Unix epoch, UTC ("event micros"); this is the only place that converts to and from
// text.
//
//   Result<int64_t> t = ParseRfc3339("2025-08-21T18:48:00.5+02:00");   // 1755794880500000
//   std::string s; AppendRfc3339(*t, s);                             // "2025-08-21T16:48:00.500Z"
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace dcmon {

// Accepted range for event timestamps: [1970-01-01T00:00:00Z, 2200-01-01T00:00:00Z).
inline constexpr int64_t kMinTimestampMicros = 0;
inline constexpr int64_t kMaxTimestampMicros = 7258118400LL * 1000000;  // 2200-01-01T00:00:00Z

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)" (T/Z may be lower case; fraction of 1 to 9
// digits, truncated to microseconds) and normalises to UTC. Leap seconds (":60") are refused. The
// error message says what is wrong without naming a field; callers add the field name.
Result<int64_t> ParseRfc3339(std::string_view text);

// Writes the RFC 3339 UTC form at dst (room for kRfc3339MaxLength bytes) and returns the new end:
// no fraction when whole seconds, 3 digits when whole milliseconds, else 6. Expects a time in the
// accepted range.
inline constexpr size_t kRfc3339MaxLength = 27;  // "2025-08-21T16:48:00.123456Z"
char* WriteRfc3339(int64_t micros, char* dst);
void AppendRfc3339(int64_t micros, std::string& out);
std::string FormatRfc3339(int64_t micros);

// Parses a duration: a non-negative integer and a unit, "us", "ms", "s", "m" or "h" ("10m",
// "1500ms"); "0" needs none. The error message says what is wrong; callers add the key.
Result<std::chrono::microseconds> ParseDuration(std::string_view text);

// The wall clock now, UTC microseconds (ingest times, the simulator's real-time anchor).
int64_t NowMicros();

}  // namespace dcmon
