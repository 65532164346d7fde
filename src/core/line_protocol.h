// InfluxDB line protocol: the text that Telegraf and the `influx` CLI send to POST /write (v1) and
// POST /api/v2/write. Parses a request body into points; a bad line is rejected with its line
// number and a reason naming what is wrong, and the other lines still count.
//
//   Result<Precision> p = ParsePrecision(request.query("precision"), LineProtocolApi::kV2);
//   if (!p.ok()) return p.status();                       // 400: precision "x": expected ...
//   LineProtocolBatch batch = ParseLineProtocol(body, *p, clock.NowMicros());
//   for (const Point& point : batch.points) { ... }  // point.time_micros, point.fields[0].number
//   for (const LineError& e : batch.errors) { ... }  // e.status.message():
//   //   line 3: field "temp": invalid number "1.2.3"
//
// The grammar, one point per line, as InfluxDB 1.x and 2.x read it:
//   measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]
// - A backslash escapes only the separators of the element it is in: `\,` `\ ` in the
//   measurement; `\,` `\=` `\ ` in tag keys, tag values and field keys; `\"` `\\` in string
//   field values. Any other backslash is literal: `two\\\ words` is `two\\ words`.
// - Field values: floats (`1`, `-1.5`, `.5`, `1.`, `1e-3`), integers (`1i`), unsigned (`1u`),
//   strings (`"..."`, may span lines), booleans (t T true True TRUE f F false False FALSE). A field
//   key repeated in a line keeps its last value (in the first one's place); repeated with another
//   type it is refused, as InfluxDB refuses it.
// - Timestamp: an integer in the request's precision whose nanoseconds fall in InfluxDB's range
//   [kMinLineProtocolNanos, kMaxLineProtocolNanos] (1677-09-21 to 2262-04-11, before 1970
//   included), also after scaling a coarse precision; stored as microseconds, the nanoseconds
//   floored (toward the past). Missing means `now_micros`.
// - Blank lines and lines whose first non-blank byte is `#` are skipped; spaces and tabs before a
//   line, spaces after it and a trailing `\r` (CRLF) are tolerated. Only spaces separate the
//   parts of a line: a tab after a value is part of it.
// - Rejected: no fields, empty measurement/keys/tag values, a tag repeated in one line, control
//   characters (0x00-0x1f, 0x7f) in the measurement, tag keys and field keys, NaN and infinities,
//   integers beyond int64/uint64, a bad or out-of-range timestamp, trailing garbage, invalid UTF-8
//   anywhere, lines over kMaxLineProtocolLineBytes.
//
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dcmon {

// A line longer than this (without its newline) is rejected without being parsed.
inline constexpr size_t kMaxLineProtocolLineBytes = 64 * 1024;

// InfluxDB's time range in nanoseconds since the epoch, both ends included:
// 1677-09-21T00:12:43.145224194Z to 2262-04-11T23:47:16.854775806Z. It keeps the two lowest and
// the highest int64 for itself.
inline constexpr int64_t kMinLineProtocolNanos = std::numeric_limits<int64_t>::min() + 2;
inline constexpr int64_t kMaxLineProtocolNanos = std::numeric_limits<int64_t>::max() - 1;

// The unit of the timestamps in a body: the `precision` query parameter.
enum class Precision { kNanoseconds, kMicroseconds, kMilliseconds, kSeconds, kMinutes, kHours };

// Which write endpoint the precision parameter came from: they spell units differently.
enum class LineProtocolApi {
  kV1,  // POST /write: n, u, ms, s, m, h (ns and us accepted too)
  kV2,  // POST /api/v2/write: ns, us, ms, s
};

// Parses the `precision` query parameter; empty means nanoseconds, the default of both APIs.
Result<Precision> ParsePrecision(std::string_view param, LineProtocolApi api);

struct Field {
  enum Type { kFloat, kInteger, kUnsigned, kString, kBoolean };

  std::string key;
  Type type = kFloat;
  double number = 0;      // the value as a double for every type but kString; booleans are 1 or 0
  int64_t integer = 0;    // exact value when kInteger
  uint64_t uinteger = 0;  // exact value when kUnsigned
  std::string text;       // unescaped value when kString
  bool boolean() const { return number != 0; }
};

struct Point {
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;  // in line order, keys unique
  std::vector<Field> fields;                              // in line order, keys unique, never empty
  int64_t time_micros = 0;  // the timestamp's nanoseconds / 1000, floored
};

struct LineError {
  int64_t line = 0;  // 1-based line number in the body where the rejected point starts
  Status status;     // kInvalidArgument, message "line 3: field \"temp\": invalid number \"1.2.3\""
};

struct LineProtocolBatch {
  std::vector<Point> points;      // accepted points in body order
  std::vector<LineError> errors;  // rejected lines in body order
};

// Parses a whole request body. Never fails as a whole: each line is either a point or an error.
LineProtocolBatch ParseLineProtocol(std::string_view body, Precision precision, int64_t now_micros);

// Parses one line (no newline outside string fields; a trailing '\r' is allowed) into `out`,
// reusing its storage. The error message names the element but not the line number. A blank or
// comment line is an error here ("blank line"/"comment"); ParseLineProtocol skips them.
Status ParseLineProtocolLine(std::string_view line, Precision precision, int64_t now_micros,
                             Point& out);

}  // namespace dcmon
