// The compliance and energy report for a period (`dcmon report`): one self-contained HTML file an
// auditor opens offline (no scripts, fonts or images from elsewhere; charts are inline SVG): energy
// and cost, the PUE trend, ASHRAE compliance per rack with its worst hour, RCI, RTI,
// rate-of-change violations, incidents with their durations (from `alert_events`, when the store
// has that table) and data completeness. Stateless functions.
//
//   Result<Kpis> k = ComputeKpis(conn, options, from, to);
//   Result<std::optional<std::vector<Incident>>> incidents = ReadIncidents(conn, from, to);
//   std::string html = RenderReport(*k, *incidents);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analytics/kpi.h"
#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::analytics {

// An alert that fired (and was not inhibited by another) during the period.
struct Incident {
  std::string rule, device, severity;
  int64_t starts_micros = 0;
  int64_t ends_micros = 0;  // 0: still firing at the end of the history
};

// The incidents overlapping [from, to), by start; nullopt when the store has no alert history
// (no `alert_events` table).
Result<std::optional<std::vector<Incident>>> ReadIncidents(store::Connection& conn,
                                                           int64_t from_micros, int64_t to_micros);

std::string RenderReport(const Kpis& kpis, const std::optional<std::vector<Incident>>& incidents);

}  // namespace dcmon::analytics
