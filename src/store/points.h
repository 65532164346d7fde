// InfluxDB line-protocol points (core/line_protocol.h) on their way to `metrics`: the compact
// encoding they travel in through Kafka (dc.metrics) from HTTP ingest to the loader, and the append
// of one metric_facts row per field, its series (measurement and tags) and field name interned as
// keys into metric_series and metric_fields (schema version 9; `metrics` is the view over them).
// AppendPoints runs inside the caller's transaction (the Writer's batch), so points and their new
// keys land together with their Kafka offsets or not at all.
//
//   std::string message;  StartPointsMessage(message);
//   for (const Point& p : points) AppendPoint(p, message);            // produce `message`
//   std::vector<Point> back;  Status s = DecodePointsMessage(message, back);
//   Result<int64_t> rows = AppendPoints(conn, back, now_micros, next_seq);  // in a transaction
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/line_protocol.h"
#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

// A message is a version byte, then per point the measurement, the tags, the fields (type and
// value) and the time, lengths and integers as varints. StartPointsMessage() sets `out` to an
// empty message; AppendPoint() adds one point to it.
void StartPointsMessage(std::string& out);
void AppendPoint(const Point& p, std::string& out);

// Appends the points of one message to `out`; an error names what is malformed (and nothing is
// appended).
Status DecodePointsMessage(std::string_view message, std::vector<Point>& out);

// Appends one `metrics` row per field of each point, numbered from `first_seq` (their ingest_seq),
// interning the series and fields not stored yet; returns the rows appended. The caller owns the
// transaction and the sequence.
Result<int64_t> AppendPoints(Connection& conn, const std::vector<Point>& points,
                             int64_t ingest_micros, int64_t first_seq);

}  // namespace dcmon::store
