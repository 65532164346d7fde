#include "store/rollups_hourly.h"

#include <fmt/format.h>

#include <limits>

namespace dcmon::store {
namespace {

constexpr int64_t kHourMicros = 3'600'000'000LL;
constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

// rollups_1m's rows matching `where` as rows of rollups_1h.
std::string AggregateMinutes(const std::string& where) {
  return fmt::format(
      "SELECT device_id, measurement_type, time_bucket(INTERVAL 1 HOUR, minute) AS hour, "
      "sum(count) AS count, min(min) AS min, max(max) AS max, sum(sum) AS sum, "
      "arg_max(last_value, last_time) AS last_value, max(last_time) AS last_time FROM rollups_1m "
      "WHERE {} GROUP BY ALL",
      where);
}

}  // namespace

Status HourlyRollupOptions::Validate() const {
  if (interval.count() < 1) return InvalidArgument("hourly rollups interval: at least 1 s");
  if (late_hours < 0) return InvalidArgument("hourly rollups late_hours: must be 0 or more");
  return Status::Ok();
}

Result<int64_t> HourlyRollups::RunDue(Connection& conn, int64_t now_micros) {
  if (now_micros < next_due_micros_) return 0;
  next_due_micros_ = now_micros + options_.interval.count() * 1'000'000LL;
  return Run(conn);
}

Result<int64_t> HourlyRollups::Run(Connection& conn) {
  Result<QueryResult> newest =
      conn.Query("SELECT epoch_us(time_bucket(INTERVAL 1 HOUR, max(minute))) FROM rollups_1m");
  if (!newest.ok()) return newest.status().WithPrefix("hourly rollups: ");
  if (newest->IsNull(0, 0)) return 0;
  const int64_t closed_until = newest->Int64(0, 0);  // the newest hour is still open
  Result<int64_t> covered = HourlyRollupsCoveredUntil(conn);
  if (!covered.ok()) return covered.status().WithPrefix("hourly rollups: ");
  if (*covered >= closed_until) return 0;
  const int64_t from = *covered == kNone ? kNone : *covered - options_.late_hours * kHourMicros;
  const std::string range = from == kNone
                                ? fmt::format("{{0}} < {}", SqlTimestamp(closed_until))
                                : fmt::format("{{0}} >= {} AND {{0}} < {}", SqlTimestamp(from),
                                              SqlTimestamp(closed_until));
  if (Status s = conn.Execute("BEGIN TRANSACTION"); !s.ok()) return s;
  int64_t rows = 0;
  Status s = conn.Execute(
      fmt::format("DELETE FROM rollups_1h WHERE {}", fmt::format(fmt::runtime(range), "hour")));
  if (s.ok()) {
    Result<QueryResult> inserted = conn.Query(fmt::format(
        "INSERT INTO rollups_1h {}", AggregateMinutes(fmt::format(fmt::runtime(range), "minute"))));
    if (inserted.ok()) {
      rows = inserted->Int64(0, 0);
    } else {
      s = inserted.status();
    }
  }
  if (s.ok()) s = conn.Execute("COMMIT");
  if (!s.ok()) {
    (void)conn.Execute("ROLLBACK");
    return s.WithPrefix("hourly rollups: ");
  }
  return rows;
}

Result<int64_t> HourlyRollupsCoveredUntil(Connection& conn) {
  Result<QueryResult> r = conn.Query("SELECT epoch_us(max(hour)) FROM rollups_1h");
  if (!r.ok()) return r.status();
  return r->IsNull(0, 0) ? kNone : r->Int64(0, 0) + kHourMicros;
}

std::string HourlyRollupsSql(int64_t covered_until) {
  if (covered_until == kNone) return fmt::format("({})", AggregateMinutes("TRUE"));
  return fmt::format("(SELECT * FROM rollups_1h WHERE hour < {0} UNION ALL {1})",
                     SqlTimestamp(covered_until),
                     AggregateMinutes(fmt::format("minute >= {}", SqlTimestamp(covered_until))));
}

}  // namespace dcmon::store
