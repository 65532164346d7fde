// Stores InfluxDB line-protocol points (core/line_protocol.h) in the `metrics` table: one row per
// field, tags as a MAP, in one transaction per call, so a request lands whole or not at all. Runs
// on whatever connection it is given (the API's write worker), beside the loader's appends to the
// record tables, which it never touches.
//
//   Status s = AppendPoints(conn, batch.points, now_micros);
#pragma once

#include <cstdint>
#include <vector>

#include "core/line_protocol.h"
#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

Status AppendPoints(Connection& conn, const std::vector<Point>& points, int64_t ingest_micros);

}  // namespace dcmon::store
