// The store's single writer: appends decoded records to the narrow fact tables (fixed-width
// columns and a key into device_keys, whose tuples it interns in C++ across batches) with DuckDB
// data chunks and, in the same transaction, their new device keys, rejects, the next Kafka
// offsets, the 1-minute rollups and the device catalogue (both computed in C++ from the batch in
// hand; rollups of new minutes appended, the others and the devices merged in SQL). A batch lands
// whole or not at all, which is what makes loading exactly once: offsets and rows can never
// disagree. Every stored row gets the next `ingest_seq`, one sequence across both record tables,
// continuing from the file's maximum on open.
//
// MotherDuck (md:) tables take no appender, so there the Writer stages: it appends into local TEMP
// tables and moves the batch with INSERT … SELECT inside the batch's transaction (TEMP tables are
// exempt from DuckDB's one-written-database-per-transaction rule). Local files append directly,
// which is cheaper.
//
//   auto w = Writer::Create(db);
//   WriteBatch b;  b.records = ...; b.origins = ...; b.offsets = {{"dc.sensors", 3, 1043}};
//   Result<CommitStats> s = (*w)->Commit(b, now_micros);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/line_protocol.h"
#include "core/record.h"
#include "core/status.h"
#include "store/appender.h"
#include "store/duckdb.h"

namespace dcmon::store {

class Derived;        // a batch's rollups and device updates (writer.cc)
class DeviceKeys;     // device_keys interned in memory (writer.cc)
class StoredMinutes;  // each rollup series' newest stored minute (writer.cc)

// Where a record came from in Kafka (partition -1: not from Kafka).
struct Origin {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

struct RejectRow {
  std::string source;    // "kafka", "http", "file"
  std::string position;  // "dc.sensors/3@1042", "line 7"
  std::string reason;
  std::string payload;
};

struct StoredOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;  // the first offset not yet stored

  friend bool operator==(const StoredOffset&, const StoredOffset&) = default;
};

struct WriteBatch {
  std::vector<Record> records;
  std::vector<Origin> origins;  // parallel to records, or empty
  std::vector<RejectRow> rejects;
  std::vector<StoredOffset> offsets;
  std::vector<Point> points;  // line-protocol points for `metrics` (store/points.h)
  void Clear() {
    records.clear();
    points.clear();
    origins.clear();
    rejects.clear();
    offsets.clear();
  }
};

struct CommitStats {
  int64_t sensor_rows = 0;
  int64_t cooling_rows = 0;
  int64_t rejects = 0;
  int64_t metric_rows = 0;       // one per field of each point
  int64_t first_ingest_seq = 0;  // of this batch's rows (0 when none)
  int64_t last_ingest_seq = 0;
};

struct WriterOptions {
  // Append into TEMP staging tables and move each batch with INSERT … SELECT; unset: only for md:.
  std::optional<bool> staging;
  // The attached database that holds the tables (USE'd on the writer's connection); empty: the
  // default one (for md:<db>, the MotherDuck database).
  std::string database;
};

// One thread uses a Writer (it owns the writer connection).
class Writer {
 public:
  // Migrates the schema and reads where the ingest sequence stands.
  static Result<std::unique_ptr<Writer>> Create(Database& db, const WriterOptions& options = {});
  ~Writer();

  Result<CommitStats> Commit(const WriteBatch& batch, int64_t ingest_time_micros);
  // Every stored Kafka position (for seeking on partition assignment).
  Result<std::vector<StoredOffset>> Offsets();
  int64_t last_ingest_seq() const { return last_seq_; }
  Connection& connection() { return *conn_; }

 private:
  Writer() = default;
  Status OpenAppenders();
  Status AppendRows(const WriteBatch& batch, int64_t ingest_time, CommitStats& stats);
  Status MoveStaged();
  Status Merge(int32_t first, int32_t last, int64_t rows);
  Status StoreOffsets(const std::vector<StoredOffset>& offsets, int64_t ingest_time_micros);
  void ResetAppenders();

  std::unique_ptr<Connection> conn_;
  // Opened on first use and kept across batches; dropped after a failure, which leaves an appender
  // unusable. The last three fill the TEMP tables a batch's rollups, devices and offsets are
  // merged from.
  std::unique_ptr<Appender> sensors_, cooling_, device_keys_, rejects_, series_, rollups_,
      batch_rollups_, batch_devices_, batch_offsets_;
  std::unique_ptr<DeviceKeys> keys_;
  int64_t last_seq_ = 0;
  // Each series' newest minute in rollup_facts: a batch's rollups of later minutes are appended,
  // not merged.
  std::unique_ptr<StoredMinutes> stored_minutes_;
  std::vector<std::pair<int32_t, int32_t>> pending_newest_;  // of the batch being committed
  int64_t last_metric_seq_ = 0;  // metrics' own ingest_seq (store/points.h)
  bool staging_ = false;
};

}  // namespace dcmon::store
