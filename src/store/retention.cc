#include "store/retention.h"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <system_error>

namespace dcmon::store {
namespace {

constexpr int64_t kDayMicros = 86'400'000'000LL;

struct RawTable {
  const char* name;    // what is exported (the record tables' and metrics' views, docs/store.md)
  const char* stored;  // what rows are deleted from
  const char* time_column;  // the event time that decides a row's day
};
constexpr RawTable kRawTables[] = {{"sensor_readings", "sensor_facts", "event_time"},
                                   {"cooling_metrics", "cooling_facts", "event_time"},
                                   {"rejects", "rejects", "received_time"},
                                   {"metrics", "metric_facts", "time"}};

int64_t DayStart(int64_t micros) {
  const int64_t r = micros % kDayMicros;
  return micros - (r < 0 ? r + kDayMicros : r);
}

}  // namespace

Status RetentionOptions::Validate() const {
  if (retention_days < 0) return InvalidArgument("store.retention_days: must be 0 (keep) or more");
  if (retry_after.count() < 1) return InvalidArgument("store retention retry: at least 1 s");
  return Status::Ok();
}

Result<RetentionOptions> RetentionOptionsFrom(const Config& config) {
  RetentionOptions o;
  Result<int64_t> days = config.GetInt("store.retention_days", 0, 0, 100000);
  if (!days.ok()) return days.status();
  o.retention_days = static_cast<int>(*days);
  o.export_dir = config.Get("store.export_dir").value_or("");
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

Result<RetentionStats> Retention::RunDue(Connection& conn, int64_t now_micros) {
  if (options_.retention_days == 0 || now_micros < next_due_micros_) return RetentionStats{};
  Result<RetentionStats> r = Run(conn, now_micros);
  next_due_micros_ = r.ok() ? DayStart(now_micros) + kDayMicros
                            : now_micros + options_.retry_after.count() * 1'000'000LL;
  return r;
}

Result<RetentionStats> Retention::Run(Connection& conn, int64_t now_micros) {
  RetentionStats stats;
  if (options_.retention_days == 0) return stats;
  if (Status s = Recover(conn); !s.ok()) return s.WithPrefix("retention: ");
  const int64_t cutoff = DayStart(now_micros) - options_.retention_days * kDayMicros;
  for (const RawTable& t : kRawTables) {
    if (Status s = ExpireTable(conn, t.name, t.stored, t.time_column, cutoff, now_micros, stats);
        !s.ok())
      return s.WithPrefix(fmt::format("retention of {}: ", t.name));
  }
  return stats;
}

// An export without its row count was interrupted before its rows were deleted: its file may be
// partial and its rows are all still in the table, so the file goes and the day is done again.
Status Retention::Recover(Connection& conn) {
  Result<QueryResult> r = conn.Query("SELECT id, path FROM retention_exports WHERE rows IS NULL");
  if (!r.ok()) return r.status();
  for (size_t i = 0; i < r->rows(); ++i) {
    const std::string path = r->Text(1, i).value_or("");
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec)
      return IoError(fmt::format("removing the unfinished export {}: {}", path, ec.message()));
    if (Status s = conn.Execute(
            fmt::format("DELETE FROM retention_exports WHERE id = {}", r->Int64(0, i)));
        !s.ok())
      return s;
  }
  return Status::Ok();
}

Status Retention::ExpireTable(Connection& conn, const char* table, const char* stored,
                              const char* time_column, int64_t cutoff_micros, int64_t now_micros,
                              RetentionStats& stats) {
  const std::string expired = fmt::format("{} < {}", time_column, SqlTimestamp(cutoff_micros));
  if (options_.export_dir.empty()) {
    Result<QueryResult> r = conn.Query(fmt::format("DELETE FROM {} WHERE {}", stored, expired));
    if (!r.ok()) return r.status();
    stats.deleted_rows += r->Int64(0, 0);
    return Status::Ok();
  }
  Result<QueryResult> days =
      conn.Query(fmt::format("SELECT DISTINCT CAST(CAST({} AS DATE) AS VARCHAR) AS day FROM {} "
                             "WHERE {} ORDER BY day",
                             time_column, table, expired));
  if (!days.ok()) return days.status();
  for (size_t i = 0; i < days->rows(); ++i) {
    if (Status s =
            ExportDay(conn, table, stored, time_column, *days->Text(0, i), now_micros, stats);
        !s.ok())
      return s;
  }
  return Status::Ok();
}

// Journal, write the file, then delete the day's rows and close the journal entry in one
// transaction: the rows go only with a complete file, and the file counts only with the rows gone.
Status Retention::ExportDay(Connection& conn, const char* table, const char* stored,
                            const char* time_column, const std::string& day, int64_t now_micros,
                            RetentionStats& stats) {
  Result<QueryResult> id = conn.Query("SELECT coalesce(max(id), 0) + 1 FROM retention_exports");
  if (!id.ok()) return id.status();
  const int64_t export_id = id->Int64(0, 0);
  const std::filesystem::path dir =
      std::filesystem::path(options_.export_dir) / table / fmt::format("day={}", day);
  const std::string path = (dir / fmt::format("part-{}.parquet", export_id)).string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError(fmt::format("creating {}: {}", dir.string(), ec.message()));
  if (Status s = conn.Execute(fmt::format(
          "INSERT INTO retention_exports VALUES ({}, {}, DATE '{}', {}, NULL, {}, NULL)", export_id,
          SqlString(table), day, SqlString(path), SqlTimestamp(now_micros)));
      !s.ok())
    return s;
  const std::string in_day = fmt::format(
      "{0} >= TIMESTAMPTZ '{1} 00:00:00+00' AND {0} < TIMESTAMPTZ '{1} 00:00:00+00' + INTERVAL 1 "
      "DAY",
      time_column, day);
  Result<QueryResult> copied = conn.Query(fmt::format(
      "COPY (SELECT * FROM {} WHERE {}) TO {} (FORMAT parquet)", table, in_day, SqlString(path)));
  if (!copied.ok()) return copied.status();
  const int64_t exported = copied->Int64(0, 0);

  Status s = conn.Execute("BEGIN TRANSACTION");
  Result<QueryResult> deleted =
      s.ok() ? conn.Query(fmt::format("DELETE FROM {} WHERE {}", stored, in_day)) : s;
  if (!deleted.ok()) {
    s = deleted.status();
  } else if (deleted->Int64(0, 0) != exported) {
    // Only the writer's thread writes these tables, so this cannot happen unless someone else does.
    s = IoError(fmt::format("{} day {}: wrote {} rows to {} but found {} to delete", table, day,
                            exported, path, deleted->Int64(0, 0)));
  }
  if (s.ok())
    s = conn.Execute(
        fmt::format("UPDATE retention_exports SET rows = {}, finished_at = {} WHERE id = {}",
                    exported, SqlTimestamp(now_micros), export_id));
  if (s.ok()) s = conn.Execute("COMMIT");
  if (!s.ok()) {
    (void)conn.Execute("ROLLBACK");
    return s;
  }
  stats.exported_rows += exported;
  stats.deleted_rows += exported;
  ++stats.files;
  return Status::Ok();
}

}  // namespace dcmon::store
