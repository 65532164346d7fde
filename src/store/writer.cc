#include "store/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "store/points.h"
#include "store/schema.h"

namespace dcmon::store {
namespace {

// Builds DuckDB data chunks column by column and appends them. Not thread-safe.
class ChunkAppender {
 public:
  ChunkAppender(duckdb_appender appender, std::initializer_list<duckdb_type> types)
      : appender_(appender) {
    for (duckdb_type t : types) types_.push_back(duckdb_create_logical_type(t));
    chunk_ = duckdb_create_data_chunk(types_.data(), types_.size());
    capacity_ = duckdb_vector_size();
  }
  ~ChunkAppender() {
    duckdb_destroy_data_chunk(&chunk_);
    for (auto& t : types_) duckdb_destroy_logical_type(&t);
  }

  // Starts a row; appends the full chunk first when needed.
  Status NextRow() {
    if (row_ + 1 == capacity_) {
      if (Status s = Append(); !s.ok()) return s;
    }
    ++row_;
    return Status::Ok();
  }
  void String(size_t col, std::string_view v) {
    duckdb_vector_assign_string_element_len(Vector(col), row_, v.data(), v.size());
  }
  void OptionalString(size_t col, std::string_view v) {
    if (v.empty()) {
      Null(col);
    } else {
      String(col, v);
    }
  }
  template <typename T>
  void Value(size_t col, T v) {
    static_cast<T*>(duckdb_vector_get_data(Vector(col)))[row_] = v;
  }
  void Null(size_t col) {
    duckdb_vector v = Vector(col);
    duckdb_vector_ensure_validity_writable(v);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(v), row_);
  }
  // Appends what is buffered.
  Status Append() {
    const idx_t n = static_cast<idx_t>(row_ + 1);
    row_ = -1;
    if (n == 0) return Status::Ok();
    duckdb_data_chunk_set_size(chunk_, n);
    const duckdb_state state = duckdb_append_data_chunk(appender_, chunk_);
    duckdb_data_chunk_reset(chunk_);
    if (state == DuckDBError) {
      return Status(StatusCode::kIoError,
                    fmt::format("duckdb append: {}", duckdb_appender_error(appender_)));
    }
    return Status::Ok();
  }

 private:
  duckdb_vector Vector(size_t col) { return duckdb_data_chunk_get_vector(chunk_, col); }

  duckdb_appender appender_;
  std::vector<duckdb_logical_type> types_;
  duckdb_data_chunk chunk_;
  int64_t row_ = -1;
  int64_t capacity_;
};

// The tables a batch appends to; when staging, each has a TEMP twin "dcmon_stage_<table>".
constexpr const char* kAppendedTables[] = {"sensor_readings", "cooling_metrics", "rejects"};

std::string Timestamp(int64_t micros) {
  return fmt::format("(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds({}))", micros);
}

std::string Staged(std::string_view table) {
  return fmt::format("temp.main.dcmon_stage_{}", table);
}

Status Flush(duckdb_appender a) {
  if (duckdb_appender_flush(a) == DuckDBError) {
    return Status(StatusCode::kIoError, fmt::format("duckdb append: {}", duckdb_appender_error(a)));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Writer>> Writer::Create(Database& db, const WriterOptions& options) {
  std::unique_ptr<Writer> w(new Writer());
  Result<std::unique_ptr<Connection>> conn = db.Connect();
  if (!conn.ok()) return conn.status();
  w->conn_ = std::move(*conn);
  if (!options.database.empty()) {
    if (Status s = w->conn_->Execute("USE " + SqlIdentifier(options.database)); !s.ok()) return s;
  }
  if (Result<int> v = Migrate(*w->conn_); !v.ok()) return v.status();
  w->staging_ = options.staging.value_or(db.options().path.starts_with("md:"));
  if (Status s = w->conn_->Execute(
          "CREATE OR REPLACE TEMP TABLE dcmon_batch_rollups AS SELECT * FROM rollups_1m LIMIT 0");
      !s.ok())
    return s;
  for (const char* table : kAppendedTables) {
    if (!w->staging_) break;
    if (Status s = w->conn_->Execute(fmt::format(
            "CREATE OR REPLACE TEMP TABLE dcmon_stage_{0} AS SELECT * FROM {0} LIMIT 0", table));
        !s.ok())
      return s;
  }
  Result<QueryResult> r = w->conn_->Query(
      "SELECT greatest((SELECT coalesce(max(ingest_seq), 0) FROM sensor_readings), "
      "(SELECT coalesce(max(ingest_seq), 0) FROM cooling_metrics))");
  if (!r.ok()) return r.status();
  w->last_seq_ = r->Int64(0, 0);
  return w;
}

Writer::~Writer() { ResetAppenders(); }

void Writer::ResetAppenders() {
  for (duckdb_appender* a : {&sensors_, &cooling_, &rejects_}) {
    if (*a) duckdb_appender_destroy(a);
    *a = nullptr;
  }
}

Status Writer::AppendRows(const WriteBatch& batch, int64_t ingest_time, CommitStats& stats) {
  for (auto [appender, table] :
       {std::pair{&sensors_, "sensor_readings"}, std::pair{&cooling_, "cooling_metrics"},
        std::pair{&rejects_, "rejects"}}) {
    const std::string staged = fmt::format("dcmon_stage_{}", table);
    if (!*appender && duckdb_appender_create_ext(
                          conn_->raw(), staging_ ? "temp" : nullptr, staging_ ? "main" : nullptr,
                          staging_ ? staged.c_str() : table, appender) == DuckDBError) {
      const std::string message = duckdb_appender_error(*appender);
      return Status(StatusCode::kIoError,
                    fmt::format("duckdb appender for {}: {}", table, message));
    }
  }
  using T = duckdb_type;
  ChunkAppender sensors(
      sensors_, {T::DUCKDB_TYPE_BIGINT, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR,
                 T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_DOUBLE, T::DUCKDB_TYPE_TIMESTAMP_TZ,
                 T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_BIGINT, T::DUCKDB_TYPE_VARCHAR,
                 T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR,
                 T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_TIMESTAMP_TZ,
                 T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_INTEGER, T::DUCKDB_TYPE_BIGINT});
  ChunkAppender cooling(cooling_,
                        {T::DUCKDB_TYPE_BIGINT, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_DOUBLE,
                         T::DUCKDB_TYPE_DOUBLE, T::DUCKDB_TYPE_TIMESTAMP_TZ, T::DUCKDB_TYPE_BIGINT,
                         T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR,
                         T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_DOUBLE, T::DUCKDB_TYPE_DOUBLE,
                         T::DUCKDB_TYPE_DOUBLE, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_TIMESTAMP_TZ,
                         T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_INTEGER, T::DUCKDB_TYPE_BIGINT});
  // Columns shared by both tables at the same positions from `first`: placement, then the Kafka
  // origin.
  auto origin = [&](ChunkAppender& c, size_t first, size_t i) {
    c.Value(first, duckdb_timestamp{ingest_time});
    if (batch.origins.empty() || batch.origins[i].partition < 0) {
      c.Null(first + 1), c.Null(first + 2), c.Null(first + 3);
    } else {
      c.String(first + 1, batch.origins[i].topic);
      c.Value(first + 2, batch.origins[i].partition);
      c.Value(first + 3, batch.origins[i].offset);
    }
  };
  auto optional_int = [](ChunkAppender& c, size_t col, const std::optional<int64_t>& v) {
    if (v)
      c.Value(col, *v);
    else
      c.Null(col);
  };
  auto optional_double = [](ChunkAppender& c, size_t col, const std::optional<double>& v) {
    if (v)
      c.Value(col, *v);
    else
      c.Null(col);
  };
  int64_t seq = last_seq_;
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const int64_t row_seq = ++seq;
    if (const auto* s = std::get_if<SensorReading>(&batch.records[i])) {
      if (Status st = sensors.NextRow(); !st.ok()) return st;
      sensors.Value(0, row_seq);
      sensors.String(1, s->device_id);
      sensors.String(2, s->location);
      sensors.String(3, s->measurement_type);
      sensors.Value(4, s->value);
      sensors.Value(5, duckdb_timestamp{s->timestamp_micros});
      sensors.OptionalString(6, s->unit);
      optional_int(sensors, 7, s->seq);
      sensors.OptionalString(8, s->placement.site);
      sensors.OptionalString(9, s->placement.room);
      sensors.OptionalString(10, s->placement.row);
      sensors.OptionalString(11, s->placement.rack);
      sensors.OptionalString(12, s->position);
      sensors.OptionalString(13, s->extra);
      origin(sensors, 14, i);
      ++stats.sensor_rows;
    } else {
      const auto& c = std::get<CoolingMetric>(batch.records[i]);
      if (Status st = cooling.NextRow(); !st.ok()) return st;
      cooling.Value(0, row_seq);
      cooling.String(1, c.system_id);
      cooling.Value(2, c.efficiency_percent);
      cooling.Value(3, c.power_consumption_watts);
      cooling.Value(4, duckdb_timestamp{c.timestamp_micros});
      optional_int(cooling, 5, c.seq);
      cooling.OptionalString(6, c.placement.site);
      cooling.OptionalString(7, c.placement.room);
      cooling.OptionalString(8, c.placement.row);
      cooling.OptionalString(9, c.placement.rack);
      optional_double(cooling, 10, c.supply_air_temp_celsius);
      optional_double(cooling, 11, c.return_air_temp_celsius);
      optional_double(cooling, 12, c.fan_speed_percent);
      cooling.OptionalString(13, c.extra);
      origin(cooling, 14, i);
      ++stats.cooling_rows;
    }
  }
  if (Status s = sensors.Append(); !s.ok()) return s;
  if (Status s = cooling.Append(); !s.ok()) return s;
  ChunkAppender rejects(
      rejects_, {T::DUCKDB_TYPE_TIMESTAMP_TZ, T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_VARCHAR,
                 T::DUCKDB_TYPE_VARCHAR, T::DUCKDB_TYPE_BLOB});
  for (const RejectRow& r : batch.rejects) {
    if (Status st = rejects.NextRow(); !st.ok()) return st;
    rejects.Value(0, duckdb_timestamp{ingest_time});
    rejects.String(1, r.source);
    rejects.String(2, r.position);
    rejects.String(3, r.reason);
    rejects.String(4, r.payload);
    ++stats.rejects;
  }
  if (Status s = rejects.Append(); !s.ok()) return s;
  for (duckdb_appender a : {sensors_, cooling_, rejects_}) {
    if (Status s = Flush(a); !s.ok()) return s;
  }
  if (!batch.records.empty()) {
    stats.first_ingest_seq = last_seq_ + 1;
    stats.last_ingest_seq = seq;
  }
  return Status::Ok();
}

// Moves the staged batch into the real tables, in the batch's transaction.
Status Writer::MoveStaged() {
  for (const char* table : kAppendedTables) {
    if (Status s =
            conn_->Execute(fmt::format("INSERT INTO {} SELECT * FROM {}", table, Staged(table)));
        !s.ok())
      return s;
  }
  return Status::Ok();
}

// Rollups and the device catalogue, from this batch's rows (ingest_seq > after_seq; when staging,
// the staged rows, which are local), merged into what is there.
Status Writer::Derive(int64_t after_seq) {
  const std::string sensors = staging_ ? Staged("sensor_readings") : "sensor_readings";
  const std::string cooling = staging_ ? Staged("cooling_metrics") : "cooling_metrics";
  // The batch's own rollups first (local, small), then merged by hand: an upsert through a primary
  // key index cost most of a batch's time and file (docs/benchmarks.md). Minutes already in
  // rollups_1m can only lie between the batch's first and last minute, and that range lets DuckDB
  // skip the older row groups.
  Status s = conn_->Execute(fmt::format(R"sql(
INSERT INTO temp.main.dcmon_batch_rollups
SELECT device_id, measurement_type, time_bucket(INTERVAL 1 MINUTE, event_time) AS minute, count(*), min(value),
       max(value), sum(value), arg_max(value, event_time), max(event_time)
FROM {1} WHERE ingest_seq > {0} GROUP BY ALL)sql",
                                        after_seq, sensors));
  Result<QueryResult> range = s.ok()
                                  ? conn_->Query(
                                        "SELECT epoch_us(min(minute)), epoch_us(max(minute)) FROM "
                                        "temp.main.dcmon_batch_rollups")
                                  : Result<QueryResult>(s);
  if (!range.ok()) return range.status();
  if (!range->IsNull(0, 0)) {
    const std::string same_key = fmt::format(
        "r.minute BETWEEN {} AND {} AND r.device_id = "
        "b.device_id AND r.measurement_type = b.measurement_type AND r.minute = b.minute",
        Timestamp(range->Int64(0, 0)), Timestamp(range->Int64(1, 0)));
    s = conn_->Execute(fmt::format(R"sql(
UPDATE rollups_1m r SET
  count = r.count + b.count, min = least(r.min, b.min), max = greatest(r.max, b.max), sum = r.sum + b.sum,
  last_value = CASE WHEN b.last_time >= r.last_time THEN b.last_value ELSE r.last_value END,
  last_time = greatest(r.last_time, b.last_time)
FROM temp.main.dcmon_batch_rollups b WHERE {0};
INSERT INTO rollups_1m
SELECT * FROM temp.main.dcmon_batch_rollups b WHERE NOT EXISTS (SELECT 1 FROM rollups_1m r WHERE {0});
DELETE FROM temp.main.dcmon_batch_rollups;
)sql",
                                   same_key));
    if (!s.ok()) return s;
  }
  return conn_->Execute(fmt::format(R"sql(
INSERT INTO devices
SELECT device_id, 'sensor', arg_max(measurement_type, event_time), arg_max(unit, event_time),
       arg_max(location, event_time), arg_max(site, event_time), arg_max(room, event_time),
       arg_max("row", event_time), arg_max(rack, event_time), arg_max(position, event_time), min(event_time),
       max(event_time)
FROM {1} WHERE ingest_seq > {0} GROUP BY device_id
ON CONFLICT (device_id) DO UPDATE SET
  measurement_type = excluded.measurement_type, unit = excluded.unit, location = excluded.location,
  site = excluded.site, room = excluded.room, "row" = excluded."row", rack = excluded.rack,
  position = excluded.position, first_seen = least(first_seen, excluded.first_seen),
  last_seen = greatest(last_seen, excluded.last_seen);
INSERT INTO devices
SELECT system_id, 'cooling', NULL, NULL, NULL, arg_max(site, event_time), arg_max(room, event_time),
       arg_max("row", event_time), arg_max(rack, event_time), NULL, min(event_time), max(event_time)
FROM {2} WHERE ingest_seq > {0} GROUP BY system_id
ON CONFLICT (device_id) DO UPDATE SET
  site = excluded.site, room = excluded.room, "row" = excluded."row", rack = excluded.rack,
  first_seen = least(first_seen, excluded.first_seen), last_seen = greatest(last_seen, excluded.last_seen);
)sql",
                                    after_seq, sensors, cooling));
}

// One statement for every partition of the batch: an upsert per partition cost more than the
// rows (128 partitions: 0.5 s a batch).
Status Writer::StoreOffsets(const std::vector<StoredOffset>& offsets, int64_t ingest_time_micros) {
  const std::string now = Timestamp(ingest_time_micros);
  std::string sql = "INSERT INTO ingest_offsets VALUES ";
  for (const StoredOffset& o : offsets) {
    fmt::format_to(std::back_inserter(sql), "{}({}, {}, {}, {})", &o == &offsets[0] ? "" : ", ",
                   SqlString(o.topic), o.partition, o.next_offset, now);
  }
  sql +=
      " ON CONFLICT (topic, \"partition\") "
      "DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at";
  return conn_->Execute(sql);
}

Result<CommitStats> Writer::Commit(const WriteBatch& batch, int64_t ingest_time_micros) {
  CommitStats stats;
  Status s = conn_->Execute("BEGIN TRANSACTION");
  if (s.ok()) s = AppendRows(batch, ingest_time_micros, stats);
  if (s.ok() && !batch.points.empty()) {
    Result<int64_t> rows = AppendPoints(*conn_, batch.points, ingest_time_micros);
    if (rows.ok()) stats.metric_rows = *rows;
    s = rows.ok() ? Status::Ok() : rows.status();
  }
  if (s.ok() && staging_) s = MoveStaged();
  if (s.ok() && !batch.records.empty()) s = Derive(last_seq_);
  if (s.ok() && !batch.offsets.empty()) s = StoreOffsets(batch.offsets, ingest_time_micros);
  for (size_t i = 0; staging_ && s.ok() && i < std::size(kAppendedTables); ++i)
    s = conn_->Execute(fmt::format("DELETE FROM {}", Staged(kAppendedTables[i])));
  if (s.ok()) s = conn_->Execute("COMMIT");
  if (!s.ok()) {
    (void)conn_->Execute("ROLLBACK");
    ResetAppenders();  // a failed append leaves an appender unusable
    return s;
  }
  if (stats.last_ingest_seq) last_seq_ = stats.last_ingest_seq;
  return stats;
}

Result<std::vector<StoredOffset>> Writer::Offsets() {
  Result<QueryResult> r =
      conn_->Query("SELECT topic, \"partition\", next_offset FROM ingest_offsets ORDER BY 1, 2");
  if (!r.ok()) return r.status();
  std::vector<StoredOffset> out;
  for (size_t i = 0; i < r->rows(); ++i) {
    out.push_back({*r->Text(0, i), static_cast<int32_t>(r->Int64(1, i)), r->Int64(2, i)});
  }
  return out;
}

}  // namespace dcmon::store
