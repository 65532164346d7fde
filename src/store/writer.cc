#include "store/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "store/points.h"
#include "store/schema.h"

namespace dcmon::store {
namespace {

// The tables a batch appends to; when staging, each has a TEMP twin "dcmon_stage_<table>".
constexpr const char* kAppendedTables[] = {"sensor_readings", "cooling_metrics", "rejects"};

std::string Staged(std::string_view table) {
  return fmt::format("temp.main.dcmon_stage_{}", table);
}

constexpr int64_t kMinuteMicros = 60'000'000;

int64_t MinuteOf(int64_t micros) {
  const int64_t r = micros % kMinuteMicros;
  return micros - (r < 0 ? r + kMinuteMicros : r);
}

}  // namespace

// The rollups and device updates of one batch, computed from its records as they are appended
// (instead of reading the appended rows back in SQL). String views point into the batch.
class Derived {
 public:
  void AddSensor(const SensorReading& s) {
    Rollup& r = rollups_[{s.device_id, s.measurement_type, MinuteOf(s.timestamp_micros)}];
    if (r.count == 0) {
      r.min = r.max = s.value;
      r.last_time = s.timestamp_micros;
      r.last_value = s.value;
    } else {
      r.min = std::min(r.min, s.value);
      r.max = std::max(r.max, s.value);
      if (s.timestamp_micros >= r.last_time) {
        r.last_time = s.timestamp_micros;
        r.last_value = s.value;
      }
    }
    ++r.count;
    r.sum += s.value;
    Device& d = Find(sensors_, s.device_id, s.timestamp_micros);
    const int64_t t = s.timestamp_micros;
    d.fields[0].Offer(s.measurement_type, t);
    d.fields[1].Offer(s.unit, t);
    d.fields[2].Offer(s.location, t);
    OfferPlacement(d, s.placement, t);
    d.fields[7].Offer(s.position, t);
  }
  void AddCooling(const CoolingMetric& c) {
    OfferPlacement(Find(cooling_, c.system_id, c.timestamp_micros), c.placement,
                   c.timestamp_micros);
  }

  // Appends the batch's rollups to `rollups` (the columns of rollups_1m) and its devices to
  // `devices` (those of `devices`); returns the batch's first and last minute.
  Result<std::pair<int64_t, int64_t>> Append(Appender& rollups, Appender& devices) const {
    std::pair<int64_t, int64_t> range{INT64_MAX, INT64_MIN};
    for (const auto& [k, r] : rollups_) {
      if (Status s = rollups.NextRow(); !s.ok()) return s;
      rollups.String(0, k.device_id);
      rollups.String(1, k.measurement_type);
      rollups.Value(2, duckdb_timestamp{k.minute});
      rollups.Value(3, r.count);
      rollups.Value(4, r.min);
      rollups.Value(5, r.max);
      rollups.Value(6, r.sum);
      rollups.Value(7, r.last_value);
      rollups.Value(8, duckdb_timestamp{r.last_time});
      range = {std::min(range.first, k.minute), std::max(range.second, k.minute)};
    }
    for (const auto* kind : {&sensors_, &cooling_}) {
      for (const auto& [id, d] : *kind) {
        if (Status s = devices.NextRow(); !s.ok()) return s;
        devices.String(0, id);
        devices.String(1, kind == &sensors_ ? "sensor" : "cooling");
        for (size_t f = 0; f < std::size(d.fields); ++f)
          devices.OptionalString(2 + f, d.fields[f].value);
        devices.Value(10, duckdb_timestamp{d.first_seen});
        devices.Value(11, duckdb_timestamp{d.last_seen});
      }
    }
    if (Status s = rollups.Flush(); !s.ok()) return s;
    if (Status s = devices.Flush(); !s.ok()) return s;
    return range;
  }
  bool has_rollups() const { return !rollups_.empty(); }

 private:
  struct RollupKey {
    std::string_view device_id;
    std::string_view measurement_type;
    int64_t minute;
    friend bool operator==(const RollupKey&, const RollupKey&) = default;
  };
  struct RollupKeyHash {
    size_t operator()(const RollupKey& k) const {
      const size_t h = std::hash<std::string_view>()(k.device_id) * 31 +
                       std::hash<std::string_view>()(k.measurement_type);
      return h * 1'000'003 ^ std::hash<int64_t>()(k.minute);
    }
  };
  struct Rollup {
    int64_t count = 0;
    double min = 0, max = 0, sum = 0, last_value = 0;
    int64_t last_time = 0;
  };
  // A column of `devices`: the value at the latest event time among the batch's records that
  // carry one (SQL's arg_max, which skips NULLs).
  struct Latest {
    std::string_view value;
    int64_t time = INT64_MIN;
    void Offer(std::string_view v, int64_t t) {
      if (!v.empty() && t >= time) value = v, time = t;
    }
  };
  struct Device {
    // measurement_type, unit, location, site, room, row, rack, position: as in `devices`.
    Latest fields[8];
    int64_t first_seen = INT64_MAX, last_seen = INT64_MIN;
  };
  using Devices = std::unordered_map<std::string_view, Device>;

  static Device& Find(Devices& devices, std::string_view id, int64_t t) {
    Device& d = devices[id];
    d.first_seen = std::min(d.first_seen, t);
    d.last_seen = std::max(d.last_seen, t);
    return d;
  }
  static void OfferPlacement(Device& d, const Placement& p, int64_t t) {
    d.fields[3].Offer(p.site, t);
    d.fields[4].Offer(p.room, t);
    d.fields[5].Offer(p.row, t);
    d.fields[6].Offer(p.rack, t);
  }

  std::unordered_map<RollupKey, Rollup, RollupKeyHash> rollups_;
  Devices sensors_, cooling_;
};

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
          "CREATE OR REPLACE TEMP TABLE dcmon_batch_rollups AS SELECT * FROM rollups_1m LIMIT 0; "
          "CREATE OR REPLACE TEMP TABLE dcmon_batch_devices AS SELECT * FROM devices LIMIT 0");
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
  r = w->conn_->Query("SELECT coalesce(max(ingest_seq), 0) FROM metrics");
  if (!r.ok()) return r.status();
  w->last_metric_seq_ = r->Int64(0, 0);
  return w;
}

Writer::~Writer() = default;

void Writer::ResetAppenders() {
  for (std::unique_ptr<Appender>* a :
       {&sensors_, &cooling_, &rejects_, &batch_rollups_, &batch_devices_})
    a->reset();
}

Status Writer::OpenAppenders() {
  const std::string stage = staging_ ? "temp" : "";
  auto open = [&](std::unique_ptr<Appender>& a, const std::string& table,
                  const std::string& catalog) {
    if (a) return Status::Ok();
    Result<std::unique_ptr<Appender>> r = Appender::Open(*conn_, table, catalog);
    if (!r.ok()) return r.status();
    a = std::move(*r);
    return Status::Ok();
  };
  const auto table = [&](std::string_view t) {
    return staging_ ? fmt::format("dcmon_stage_{}", t) : std::string(t);
  };
  for (Status s :
       {open(sensors_, table("sensor_readings"), stage),
        open(cooling_, table("cooling_metrics"), stage), open(rejects_, table("rejects"), stage),
        open(batch_rollups_, "dcmon_batch_rollups", "temp"),
        open(batch_devices_, "dcmon_batch_devices", "temp")}) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status Writer::AppendRows(const WriteBatch& batch, int64_t ingest_time, CommitStats& stats) {
  if (Status s = OpenAppenders(); !s.ok()) return s;
  Appender& sensors = *sensors_;
  Appender& cooling = *cooling_;
  Derived derived;
  // Columns shared by both tables at the same positions from `first`: ingest time, then the Kafka
  // origin.
  auto origin = [&](Appender& c, size_t first, size_t i) {
    c.Value(first, duckdb_timestamp{ingest_time});
    if (batch.origins.empty() || batch.origins[i].partition < 0) {
      c.Null(first + 1), c.Null(first + 2), c.Null(first + 3);
    } else {
      c.String(first + 1, batch.origins[i].topic);
      c.Value(first + 2, batch.origins[i].partition);
      c.Value(first + 3, batch.origins[i].offset);
    }
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
      sensors.Optional(7, s->seq);
      sensors.OptionalString(8, s->placement.site);
      sensors.OptionalString(9, s->placement.room);
      sensors.OptionalString(10, s->placement.row);
      sensors.OptionalString(11, s->placement.rack);
      sensors.OptionalString(12, s->position);
      sensors.OptionalString(13, s->extra);
      origin(sensors, 14, i);
      derived.AddSensor(*s);
      ++stats.sensor_rows;
    } else {
      const auto& c = std::get<CoolingMetric>(batch.records[i]);
      if (Status st = cooling.NextRow(); !st.ok()) return st;
      cooling.Value(0, row_seq);
      cooling.String(1, c.system_id);
      cooling.Value(2, c.efficiency_percent);
      cooling.Value(3, c.power_consumption_watts);
      cooling.Value(4, duckdb_timestamp{c.timestamp_micros});
      cooling.Optional(5, c.seq);
      cooling.OptionalString(6, c.placement.site);
      cooling.OptionalString(7, c.placement.room);
      cooling.OptionalString(8, c.placement.row);
      cooling.OptionalString(9, c.placement.rack);
      cooling.Optional(10, c.supply_air_temp_celsius);
      cooling.Optional(11, c.return_air_temp_celsius);
      cooling.Optional(12, c.fan_speed_percent);
      cooling.OptionalString(13, c.extra);
      origin(cooling, 14, i);
      derived.AddCooling(c);
      ++stats.cooling_rows;
    }
  }
  Appender& rejects = *rejects_;
  for (const RejectRow& r : batch.rejects) {
    if (Status st = rejects.NextRow(); !st.ok()) return st;
    rejects.Value(0, duckdb_timestamp{ingest_time});
    rejects.String(1, r.source);
    rejects.String(2, r.position);
    rejects.String(3, r.reason);
    rejects.String(4, r.payload);
    ++stats.rejects;
  }
  for (Appender* a : {&sensors, &cooling, &rejects}) {
    if (Status s = a->Flush(); !s.ok()) return s;
  }
  if (!batch.records.empty()) {
    stats.first_ingest_seq = last_seq_ + 1;
    stats.last_ingest_seq = seq;
  }
  if (staging_) {
    if (Status s = MoveStaged(); !s.ok()) return s;
  }
  return batch.records.empty() ? Status::Ok() : Merge(derived);
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

// Merges the batch's rollups and devices, computed in C++ and appended to TEMP tables, into what
// is there. By hand rather than through a primary key: an upsert through the key index cost most
// of a batch's time and file (docs/benchmarks.md). Minutes already in rollups_1m can only lie
// between the batch's first and last minute, and that range lets DuckDB skip older row groups.
Status Writer::Merge(const Derived& derived) {
  Result<std::pair<int64_t, int64_t>> range = derived.Append(*batch_rollups_, *batch_devices_);
  if (!range.ok()) return range.status();
  std::string sql;
  if (derived.has_rollups()) {
    const std::string same_key = fmt::format(
        "r.minute BETWEEN {} AND {} AND r.device_id = "
        "b.device_id AND r.measurement_type = b.measurement_type AND r.minute = b.minute",
        SqlTimestamp(range->first), SqlTimestamp(range->second));
    sql = fmt::format(R"sql(
UPDATE rollups_1m r SET
  count = r.count + b.count, min = least(r.min, b.min), max = greatest(r.max, b.max), sum = r.sum + b.sum,
  last_value = CASE WHEN b.last_time >= r.last_time THEN b.last_value ELSE r.last_value END,
  last_time = greatest(r.last_time, b.last_time)
FROM temp.main.dcmon_batch_rollups b WHERE {0};
INSERT INTO rollups_1m
SELECT * FROM temp.main.dcmon_batch_rollups b WHERE NOT EXISTS (SELECT 1 FROM rollups_1m r WHERE {0});
DELETE FROM temp.main.dcmon_batch_rollups;
)sql",
                      same_key);
  }
  sql += R"sql(
INSERT INTO devices SELECT * FROM temp.main.dcmon_batch_devices WHERE kind = 'sensor'
ON CONFLICT (device_id) DO UPDATE SET
  measurement_type = excluded.measurement_type, unit = excluded.unit, location = excluded.location,
  site = excluded.site, room = excluded.room, "row" = excluded."row", rack = excluded.rack,
  position = excluded.position, first_seen = least(first_seen, excluded.first_seen),
  last_seen = greatest(last_seen, excluded.last_seen);
INSERT INTO devices SELECT * FROM temp.main.dcmon_batch_devices WHERE kind = 'cooling'
ON CONFLICT (device_id) DO UPDATE SET
  site = excluded.site, room = excluded.room, "row" = excluded."row", rack = excluded.rack,
  first_seen = least(first_seen, excluded.first_seen), last_seen = greatest(last_seen, excluded.last_seen);
DELETE FROM temp.main.dcmon_batch_devices;
)sql";
  return conn_->Execute(sql);
}

// One statement for every partition of the batch: an upsert per partition cost more than the
// rows (128 partitions: 0.5 s a batch).
Status Writer::StoreOffsets(const std::vector<StoredOffset>& offsets, int64_t ingest_time_micros) {
  const std::string now = SqlTimestamp(ingest_time_micros);
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
    Result<int64_t> rows =
        AppendPoints(*conn_, batch.points, ingest_time_micros, last_metric_seq_ + 1);
    if (rows.ok()) stats.metric_rows = *rows;
    s = rows.ok() ? Status::Ok() : rows.status();
  }
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
  last_metric_seq_ += stats.metric_rows;
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
