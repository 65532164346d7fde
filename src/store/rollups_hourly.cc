#include "store/rollups_hourly.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "store/schema.h"

namespace dcmon::store {
namespace {

constexpr int64_t kHourMicros = 3'600'000'000LL;
constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

// rollups_1m's rows matching `where` as rows of rollups_1h (`where` may bound dcmon_rollups_1m's
// epoch_minute: RollupMinutes()).
std::string AggregateMinutes(const std::string& where) {
  return fmt::format(
      "SELECT device_id, measurement_type, time_bucket(INTERVAL 1 HOUR, minute) AS hour, "
      "sum(count) AS count, min(min) AS min, max(max) AS max, sum(sum) AS sum, "
      "arg_max(last_value, last_time) AS last_value, max(last_time) AS last_time FROM "
      "dcmon_rollups_1m WHERE {} GROUP BY ALL",
      where);
}

// `column` in [from, until); from = kNone: no lower bound.
std::string Range(const char* column, int64_t from, int64_t until) {
  if (from == kNone) return fmt::format("{} < {}", column, SqlTimestamp(until));
  return fmt::format("{0} >= {1} AND {0} < {2}", column, SqlTimestamp(from), SqlTimestamp(until));
}

// Rolls up the hours of [from, until) again. In the caller's transaction.
Result<int64_t> Reroll(Connection& conn, int64_t from, int64_t until) {
  if (Status s = conn.Execute("DELETE FROM rollups_1h WHERE " + Range("hour", from, until));
      !s.ok())
    return s;
  Result<QueryResult> r =
      conn.Query("INSERT INTO rollups_1h " + AggregateMinutes(RollupMinutes(from, until)));
  if (!r.ok()) return r.status();
  return r->Int64(0, 0);
}

}  // namespace

Status HourlyRollupOptions::Validate() const {
  if (interval.count() < 1) return InvalidArgument("hourly rollups interval: at least 1 s");
  return Status::Ok();
}

Result<int64_t> HourlyRollups::RunDue(Connection& conn, int64_t now_micros) {
  if (now_micros < next_due_micros_) return 0;
  next_due_micros_ = now_micros + options_.interval.count() * 1'000'000LL;
  return Run(conn);
}

Result<int64_t> HourlyRollups::Run(Connection& conn) {
  Result<QueryResult> state = conn.Query(
      "SELECT (SELECT max(minute) // 60 * 3600000000 FROM rollup_facts), "
      "(SELECT max(rolled_seq) FROM rollups_1h_state)");
  if (!state.ok()) return state.status().WithPrefix("hourly rollups: ");
  if (state->IsNull(0, 0)) return 0;
  const int64_t closed_until = state->Int64(0, 0);  // the newest hour is still open
  const int64_t rolled_seq = state->IsNull(1, 0) ? -1 : state->Int64(1, 0);
  Result<int64_t> covered = HourlyRollupsCoveredUntil(conn);
  if (!covered.ok()) return covered.status().WithPrefix("hourly rollups: ");
  // The readings stored since the last run, and the hours rolled up already they fall in.
  Result<QueryResult> newest = conn.Query(
      fmt::format("SELECT max(ingest_seq) FROM sensor_facts WHERE ingest_seq > {}", rolled_seq));
  if (!newest.ok()) return newest.status().WithPrefix("hourly rollups: ");
  const int64_t newest_seq = newest->IsNull(0, 0) ? rolled_seq : newest->Int64(0, 0);
  std::vector<int64_t> hours;  // oldest first
  if (*covered != kNone && newest_seq > rolled_seq) {
    Result<QueryResult> touched = conn.Query(
        fmt::format("SELECT DISTINCT epoch_us(time_bucket(INTERVAL 1 HOUR, event_time)) AS h FROM "
                    "sensor_facts WHERE ingest_seq > {} AND event_time < {} ORDER BY h",
                    rolled_seq, SqlTimestamp(*covered)));
    if (!touched.ok()) return touched.status().WithPrefix("hourly rollups: ");
    for (size_t i = 0; i < touched->rows(); ++i) hours.push_back(touched->Int64(0, i));
  }
  if (hours.empty() && *covered >= closed_until) return 0;
  if (Status s = conn.Execute("BEGIN TRANSACTION"); !s.ok()) return s;
  int64_t rows = 0;
  Status s = Status::Ok();
  // Each run of neighbouring touched hours, then the hours closed since the last run.
  for (size_t i = 0; s.ok() && i < hours.size();) {
    size_t end = i;
    while (end + 1 < hours.size() && hours[end + 1] == hours[end] + kHourMicros) ++end;
    Result<int64_t> r = Reroll(conn, hours[i], hours[end] + kHourMicros);
    if (r.ok())
      rows += *r;
    else
      s = r.status();
    i = end + 1;
  }
  if (s.ok() && *covered < closed_until) {
    Result<int64_t> r = Reroll(conn, *covered, closed_until);
    if (r.ok())
      rows += *r;
    else
      s = r.status();
  }
  if (s.ok()) s = conn.Execute("DELETE FROM rollups_1h_state");
  if (s.ok()) s = conn.Execute(fmt::format("INSERT INTO rollups_1h_state VALUES ({})", newest_seq));
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

std::string HourlyRollupsSql(int64_t covered_until, const std::string& where, int64_t from,
                             int64_t until) {
  // Each side filtered on its own table's columns, so that its scan skips what is out of range.
  const int64_t split = std::clamp(covered_until, from, until);
  return fmt::format(
      "(SELECT * FROM rollups_1h WHERE ({}) AND {} UNION ALL {})", where,
      Range("hour", from, split),
      AggregateMinutes(fmt::format("({}) AND {}", where, RollupMinutes(split, until))));
}

}  // namespace dcmon::store
