// Hourly rollups: rollups_1h holds, per device, measurement and UTC hour, the aggregate of that
// hour's rows of rollups_1m (count and sum added, min of the mins, max of the maxes, the latest
// last value), so that a week of one series is 168 rows instead of 10,080. It is filled for closed
// hours only (an hour is closed once rollups_1m holds a later minute); readers take the hours not
// rolled up yet from rollups_1m, through HourlyRollupsSql(), so the newest hour is always current.
//
// Each run rolls up the hours closed since the last one, and rolls up again every hour already in
// rollups_1h that a reading stored since the last run falls in (found from sensor_facts'
// ingest_seq, which rollups_1h_state keeps): a late reading, from a partition read behind the
// others or sent hours late, is counted however old its hour. The step runs on the writer's
// connection and thread, between batches, as retention does:
//
//   HourlyRollups hourly({});
//   Result<int64_t> rows = hourly.RunDue(writer.connection(), now_micros);  // cheap if not due
//
//   Result<int64_t> until = HourlyRollupsCoveredUntil(conn);  // any connection
//   conn.Query("SELECT ... FROM " + HourlyRollupsSql(*until, "device_id = 'a'", from, to) + " r");
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

struct HourlyRollupOptions {
  std::chrono::seconds interval{60};  // runs at most this often (wall time)

  Status Validate() const;
};

// Keeps when the next run is due. One thread uses an HourlyRollups (the writer's).
class HourlyRollups {
 public:
  explicit HourlyRollups(HourlyRollupOptions options) : options_(options) {}

  // Runs when `interval` has passed since the last run (the first call runs). Both return the
  // rows written to rollups_1h.
  Result<int64_t> RunDue(Connection& conn, int64_t now_micros);
  // Runs now, in one transaction: the hours closed since the last run, and those rolled up
  // already that readings stored since then fall in.
  Result<int64_t> Run(Connection& conn);

 private:
  HourlyRollupOptions options_;
  int64_t next_due_micros_ = 0;
};

// The start of the first hour not in rollups_1h (µs; INT64_MIN when it is empty).
Result<int64_t> HourlyRollupsCoveredUntil(Connection& conn);

// A parenthesised relation with rollups_1h's columns (device_id, measurement_type, hour, count,
// min, max, sum, last_value, last_time): the rows matching `where` (on device_id and
// measurement_type) of the hours in [from, until) (µs, whole hours) — from rollups_1h before
// `covered_until` (HourlyRollupsCoveredUntil), aggregated from rollups_1m after it.
std::string HourlyRollupsSql(int64_t covered_until, const std::string& where, int64_t from,
                             int64_t until);

}  // namespace dcmon::store
