// Raw-data retention: deletes rows of the raw tables (sensor_readings, cooling_metrics, rejects,
// metrics) whose event time lies in a UTC day that ended more than `retention_days` days ago,
// after optionally writing each such day to Parquet, one file per table and day under
// `<export_dir>/<table>/day=YYYY-MM-DD/part-<id>.parquet` (readable with
// read_parquet('<export_dir>/sensor_readings/*/*.parquet', hive_partitioning = true)). Rollups and
// the device catalogue are kept. Rows are deleted only after their file was written; each file is
// journalled in `retention_exports`, so a run interrupted anywhere is finished by the next one
// without losing or duplicating a row.
//
// Retention must run on the writer's connection and thread, between batches:
//
//   Retention retention({.retention_days = 30, .export_dir = "data/archive"});
//   Result<RetentionStats> r = retention.RunDue(writer.connection(), now_micros);  // cheap if not
//   due
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

struct RetentionOptions {
  int retention_days = 0;  // store.retention_days: days of raw rows kept after today; 0 keeps all
  std::string export_dir;  // store.export_dir: Parquet archive of expired days; empty: delete only
  std::chrono::seconds retry_after{60};  // after a failed run, the next attempt waits this long

  Status Validate() const;
};

// Reads store.retention_days and store.export_dir.
Result<RetentionOptions> RetentionOptionsFrom(const Config& config);

struct RetentionStats {
  int64_t deleted_rows = 0;   // over all raw tables
  int64_t exported_rows = 0;  // written to Parquet (equal to deleted_rows when exporting)
  int64_t files = 0;
};

// Keeps when the next run is due. One thread uses a Retention (the writer's).
class Retention {
 public:
  explicit Retention(RetentionOptions options) : options_(std::move(options)) {}

  // Runs when due: on the first call, then once after each UTC midnight (the cutoff moves only
  // then), and `retry_after` after a failure. Otherwise returns at once with nothing done.
  Result<RetentionStats> RunDue(Connection& conn, int64_t now_micros);
  // Runs now: finishes interrupted exports, then expires every day before the cutoff (midnight UTC
  // of `now`'s day minus retention_days).
  Result<RetentionStats> Run(Connection& conn, int64_t now_micros);

 private:
  Status Recover(Connection& conn);
  Status ExpireTable(Connection& conn, const char* table, const char* stored,
                     const char* time_column, int64_t cutoff_micros, int64_t now_micros,
                     RetentionStats& stats);
  Status ExportDay(Connection& conn, const char* table, const char* stored, const char* time_column,
                   const std::string& day, int64_t now_micros, RetentionStats& stats);

  RetentionOptions options_;
  int64_t next_due_micros_ = 0;
};

}  // namespace dcmon::store
