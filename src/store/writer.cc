#include "store/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>

#include "core/time.h"
#include "store/points.h"
#include "store/schema.h"

namespace dcmon::store {
namespace {

// The tables a batch appends to; when staging, each has a TEMP twin "dcmon_stage_<stage>", named
// after the table users see (the facts of sensor_readings stage in dcmon_stage_sensor_readings).
struct AppendedTable {
  const char* table;
  const char* stage;
};
constexpr AppendedTable kAppendedTables[] = {
    {"sensor_facts", "sensor_readings"}, {"cooling_facts", "cooling_metrics"},
    {"device_keys", "device_keys"},      {"rejects", "rejects"},
    {"rollup_series", "rollup_series"},  {"rollup_facts", "rollup_facts"}};

std::string Staged(const AppendedTable& t) {
  return fmt::format("temp.main.dcmon_stage_{}", t.stage);
}

constexpr int64_t kMinuteMicros = 60'000'000;
static_assert(kMaxTimestampMicros / kMinuteMicros <= INT32_MAX, "rollup_facts.minute is INTEGER");

// The number of the minute (since the epoch) a record's time falls in, as rollup_facts stores it;
// records' times are from the epoch on (core/time.h).
int32_t MinuteOf(int64_t micros) { return static_cast<int32_t>(micros / kMinuteMicros); }

}  // namespace

// A (device_id, measurement_type) pair, numbered by DeviceKeys: what a rollup is per minute of.
using Series = std::pair<std::string, std::string>;
// A series number (an index, dense from 0) as stored in rollup_series and rollup_facts.
int32_t SeriesKey(int32_t series) { return series + 1; }

// The newest minute (a minute number) each series has in rollup_facts, as far as this writer knows:
// a batch's rollup of a later minute cannot be there yet and is appended, an earlier one is merged.
// A series this writer has not written yet counts as having the newest minute of the whole table at
// open, which is the most it can have. With many partitions consumed at different paces one global
// newest minute sent most of a backlog's rollups through the merge.
class StoredMinutes {
 public:
  explicit StoredMinutes(int32_t newest_at_open) : at_open_(newest_at_open) {}
  int32_t Newest(int32_t series) const {
    return static_cast<size_t>(series) < newest_.size() ? newest_[series] : at_open_;
  }
  // After a commit: `newest` (series, newest minute of the batch) are stored.
  void Stored(const std::vector<std::pair<int32_t, int32_t>>& newest) {
    for (const auto& [series, minute] : newest) {
      if (static_cast<size_t>(series) >= newest_.size()) newest_.resize(series + 1, at_open_);
      newest_[series] = std::max(newest_[series], minute);
    }
  }

 private:
  int32_t at_open_;
  std::vector<int32_t> newest_;  // by series number
};

// The rollups and device updates of one batch, computed from its records as they are appended
// (instead of reading the appended rows back in SQL). Rollups are keyed by series number (hashed
// and sorted as integers); string views point into the batch.
class Derived {
 public:
  void AddSensor(const SensorReading& s, int32_t series) {
    Rollup& r = RollupOf(series, MinuteOf(s.timestamp_micros));
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

  // What Append() did with the batch's rollups.
  struct Appended {
    // The first and last minute of those that may already be in rollup_facts (first > last: none).
    int32_t merged_first = INT32_MAX, merged_last = INT32_MIN;
    int64_t merged_rows = 0;  // how many of them
    // Each series' newest minute in the batch, by series number.
    std::vector<std::pair<int32_t, int32_t>> newest;
  };

  // Appends the batch's rollups, by series and minute, to `fresh` (the columns of rollup_facts)
  // when their minute is newer than the series' newest stored (`stored`: none of its rows can be
  // that new) and to `merged` otherwise; its devices go to `devices` (the columns of `devices`).
  Result<Appended> Append(Appender& fresh, Appender& merged, Appender& devices,
                          const StoredMinutes& stored) const {
    Appended out;
    // By series, then minute: a device's values are alike and its times evenly spaced, which
    // DuckDB's compression turns into few bits (docs/benchmarks.md).
    for (int32_t series = 0; series < static_cast<int32_t>(rollups_.size()); ++series) {
      const std::vector<Rollup>& minutes = rollups_[series];
      if (minutes.empty()) continue;
      for (const Rollup& r : minutes) {
        const bool stored_maybe = r.minute <= stored.Newest(series);
        Appender& to = stored_maybe ? merged : fresh;
        if (Status s = to.NextRow(); !s.ok()) return s;
        to.Value(0, SeriesKey(series));
        to.Value(1, r.minute);
        to.Value(2, r.count);
        to.Value(3, r.min);
        to.Value(4, r.max);
        to.Value(5, r.sum);
        to.Value(6, r.last_value);
        to.Value(7, static_cast<int32_t>(r.last_time - r.minute * kMinuteMicros));
        if (stored_maybe) {
          out.merged_first = std::min(out.merged_first, r.minute);
          out.merged_last = std::max(out.merged_last, r.minute);
          ++out.merged_rows;
        }
      }
      out.newest.emplace_back(series, minutes.back().minute);
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
    for (Appender* a : {&fresh, &merged, &devices}) {
      if (Status s = a->Flush(); !s.ok()) return s;
    }
    return out;
  }

 private:
  struct Rollup {
    int32_t minute = 0;  // MinuteOf()
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

  // The series' minute, added in minute order. A series' readings come in time order (one
  // partition each), so its minute is nearly always its last one.
  Rollup& RollupOf(int32_t series, int32_t minute) {
    if (static_cast<size_t>(series) >= rollups_.size()) rollups_.resize(series + 1);
    std::vector<Rollup>& minutes = rollups_[series];
    if (minutes.empty() || minutes.back().minute < minute) {
      return minutes.emplace_back(Rollup{.minute = minute});
    }
    auto at = std::lower_bound(minutes.begin(), minutes.end(), minute,
                               [](const Rollup& r, int32_t m) { return r.minute < m; });
    if (at == minutes.end() || at->minute != minute)
      at = minutes.insert(at, Rollup{.minute = minute});
    return *at;
  }

  std::vector<std::vector<Rollup>> rollups_;  // by series number, each in minute order
  Devices sensors_, cooling_;
};

// The rows of device_keys, interned in memory: loaded at open, kept across batches. A tuple not
// seen before gets the next key and is appended with the batch; a failed batch forgets the keys it
// added. Lookup hashes the device id only and compares the rest of the tuple (a device has one
// tuple unless it moved or changed unit). Absent fields are "" as in records, NULL in the table.
class DeviceKeys {
 public:
  // kind, device_id, location, measurement_type, unit, site, room, row, rack, position, topic.
  static constexpr size_t kFields = 11;
  using Tuple = std::array<std::string_view, kFields>;

  Status Load(Connection& conn) {
    Result<QueryResult> r = conn.Query(
        "SELECT series_key, device_id, measurement_type FROM rollup_series ORDER BY series_key");
    if (!r.ok()) return r.status();
    for (size_t i = 0; i < r->rows(); ++i) {
      if (r->Int64(0, i) != SeriesKey(static_cast<int32_t>(i))) {
        return InvalidArgument(fmt::format(
            "store: rollup_series: series_key {} where {} was due (the keys are dense from 1)",
            r->Int64(0, i), SeriesKey(static_cast<int32_t>(i))));
      }
      Number({*r->Text(1, i), *r->Text(2, i)});
    }
    stored_series_ = series_.size();
    r = conn.Query(
        "SELECT device_key, kind, device_id, coalesce(location, ''), coalesce(measurement_type, "
        "''), coalesce(unit, ''), coalesce(site, ''), coalesce(room, ''), coalesce(\"row\", ''), "
        "coalesce(rack, ''), coalesce(position, ''), kafka_topic IS NOT NULL, "
        "coalesce(kafka_topic, '') FROM device_keys ORDER BY device_key");
    if (!r.ok()) return r.status();
    for (size_t i = 0; i < r->rows(); ++i) {
      std::array<std::string, kFields> fields;
      for (size_t f = 0; f < kFields; ++f) fields[f] = *r->Text(f + 1 + (f == 10), i);
      const bool has_topic = r->Int64(11, i) != 0;
      const auto key = static_cast<int32_t>(r->Int64(0, i));
      Tuple t;
      for (size_t f = 0; f < kFields; ++f) t[f] = fields[f];
      Insert(t, has_topic, key);
      next_key_ = std::max(next_key_, key + 1);
    }
    return Status::Ok();
  }

  struct Interned {
    int32_t key;
    int32_t series;  // of a sensor's (device_id, measurement_type): an index into series()
  };
  // The key of the tuple; `has_topic` false: not from Kafka (kafka_topic NULL).
  Interned Intern(const Tuple& t, bool has_topic) {
    auto it = by_device_.find(t[1]);
    if (it != by_device_.end()) {
      for (const Entry& e : it->second) {
        if (e.has_topic == has_topic && Same(e, t)) return {e.key, e.series};
      }
    }
    const int32_t key = next_key_++;
    pending_.push_back(Insert(t, has_topic, key));
    return {key, (*pending_.back().first)[pending_.back().second].series};
  }

  // Appends the keys added since the last commit to `device_keys`' appender.
  Status AppendPending(Appender& a) const {
    for (const auto& [list, index] : pending_) {
      const Entry& e = (*list)[index];
      if (Status s = a.NextRow(); !s.ok()) return s;
      a.Value(0, e.key);
      a.String(1, e.fields[0]);
      a.String(2, e.fields[1]);
      const bool sensor = e.fields[0] == "sensor";
      for (size_t f = 2; f < kFields - 1; ++f) {
        // A sensor's location and measurement type are required: stored as given, even "".
        if (sensor && f <= 3) {
          a.String(1 + f, e.fields[f]);
        } else {
          a.OptionalString(1 + f, e.fields[f]);
        }
      }
      if (e.has_topic) {
        a.String(kFields, e.fields[kFields - 1]);
      } else {
        a.Null(kFields);
      }
    }
    return a.Flush();
  }
  // Appends the series numbered since the last commit to `rollup_series`' appender. A failed
  // batch's series keep their numbers and are appended with the next batch.
  Status AppendPendingSeries(Appender& a) const {
    for (size_t i = stored_series_; i < series_.size(); ++i) {
      if (Status s = a.NextRow(); !s.ok()) return s;
      a.Value(0, SeriesKey(static_cast<int32_t>(i)));
      a.String(1, series_[i].first);
      a.String(2, series_[i].second);
    }
    return a.Flush();
  }
  void Committed() {
    pending_.clear();
    stored_series_ = series_.size();
  }
  void RolledBack() {
    for (auto p = pending_.rbegin(); p != pending_.rend(); ++p) {
      std::vector<Entry>& list = *p->first;
      next_key_ = list.back().key;
      if (list.size() > 1) {
        list.pop_back();
      } else {
        const std::string id = list.back().fields[1];
        by_device_.erase(id);
      }
    }
    pending_.clear();
  }

 private:
  struct Entry {
    std::array<std::string, kFields> fields;
    bool has_topic = false;
    int32_t key = 0;
    int32_t series = -1;  // a sensor's; -1 for a cooling unit
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  static bool Same(const Entry& e, const Tuple& t) {
    for (size_t f = 0; f < kFields; ++f) {
      if (f != 1 && e.fields[f] != t[f]) return false;
    }
    return true;
  }
  std::pair<std::vector<Entry>*, size_t> Insert(const Tuple& t, bool has_topic, int32_t key) {
    Entry e{.has_topic = has_topic, .key = key};
    for (size_t f = 0; f < kFields; ++f) e.fields[f] = t[f];
    if (e.fields[0] == "sensor") e.series = Number({e.fields[1], e.fields[3]});
    auto it = by_device_.find(t[1]);
    if (it == by_device_.end()) it = by_device_.emplace(t[1], std::vector<Entry>()).first;
    it->second.push_back(std::move(e));
    return {&it->second, it->second.size() - 1};
  }
  // The series' number, the next one if it has none yet.
  int32_t Number(Series named) {
    auto [s, added] = series_numbers_.try_emplace(named, static_cast<int32_t>(series_.size()));
    if (added) series_.push_back(std::move(named));
    return s->second;
  }

  std::unordered_map<std::string, std::vector<Entry>, Hash, std::equal_to<>> by_device_;
  std::vector<std::pair<std::vector<Entry>*, size_t>> pending_;
  int32_t next_key_ = 1;
  // Sensors' (device_id, measurement_type), numbered on first sight; the first stored_series_ are
  // in rollup_series.
  std::vector<Series> series_;
  std::map<Series, int32_t> series_numbers_;
  size_t stored_series_ = 0;
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
          "CREATE OR REPLACE TEMP TABLE dcmon_batch_rollups AS SELECT * FROM rollup_facts LIMIT 0; "
          "CREATE OR REPLACE TEMP TABLE dcmon_batch_devices AS SELECT * FROM devices LIMIT 0; "
          "CREATE OR REPLACE TEMP TABLE dcmon_batch_offsets AS SELECT * FROM ingest_offsets LIMIT "
          "0");
      !s.ok())
    return s;
  for (const AppendedTable& t : kAppendedTables) {
    if (!w->staging_) break;
    if (Status s = w->conn_->Execute(
            fmt::format("CREATE OR REPLACE TEMP TABLE dcmon_stage_{} AS SELECT * FROM {} LIMIT 0",
                        t.stage, t.table));
        !s.ok())
      return s;
  }
  Result<QueryResult> r = w->conn_->Query(
      "SELECT greatest((SELECT coalesce(max(ingest_seq), 0) FROM sensor_facts), "
      "(SELECT coalesce(max(ingest_seq), 0) FROM cooling_facts))");
  if (!r.ok()) return r.status();
  w->last_seq_ = r->Int64(0, 0);
  r = w->conn_->Query("SELECT max(minute) FROM rollup_facts");
  if (!r.ok()) return r.status();
  w->stored_minutes_ = std::make_unique<StoredMinutes>(
      r->IsNull(0, 0) ? INT32_MIN : static_cast<int32_t>(r->Int64(0, 0)));
  w->keys_ = std::make_unique<DeviceKeys>();
  if (Status s = w->keys_->Load(*w->conn_); !s.ok()) return s;
  r = w->conn_->Query("SELECT coalesce(max(ingest_seq), 0) FROM metrics");
  if (!r.ok()) return r.status();
  w->last_metric_seq_ = r->Int64(0, 0);
  return w;
}

Writer::~Writer() = default;

void Writer::ResetAppenders() {
  for (std::unique_ptr<Appender>* a :
       {&sensors_, &cooling_, &device_keys_, &rejects_, &series_, &rollups_, &batch_rollups_,
        &batch_devices_, &batch_offsets_})
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
  const auto table = [&](const AppendedTable& t) {
    return staging_ ? fmt::format("dcmon_stage_{}", t.stage) : std::string(t.table);
  };
  for (Status s : {open(sensors_, table(kAppendedTables[0]), stage),
                   open(cooling_, table(kAppendedTables[1]), stage),
                   open(device_keys_, table(kAppendedTables[2]), stage),
                   open(rejects_, table(kAppendedTables[3]), stage),
                   open(series_, table(kAppendedTables[4]), stage),
                   open(rollups_, table(kAppendedTables[5]), stage),
                   open(batch_rollups_, "dcmon_batch_rollups", "temp"),
                   open(batch_devices_, "dcmon_batch_devices", "temp"),
                   open(batch_offsets_, "dcmon_batch_offsets", "temp")}) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status Writer::AppendRows(const WriteBatch& batch, int64_t ingest_time, CommitStats& stats) {
  if (Status s = OpenAppenders(); !s.ok()) return s;
  Appender& sensors = *sensors_;
  Appender& cooling = *cooling_;
  Derived derived;
  // The Kafka origin, at columns `first` (partition) and `first + 1` (offset).
  auto origin = [&](Appender& c, size_t first, size_t i) {
    if (batch.origins.empty() || batch.origins[i].partition < 0) {
      c.Null(first), c.Null(first + 1);
    } else {
      c.Value(first, batch.origins[i].partition);
      c.Value(first + 1, batch.origins[i].offset);
    }
  };
  auto topic = [&](size_t i) -> std::pair<std::string_view, bool> {
    if (batch.origins.empty() || batch.origins[i].partition < 0) return {"", false};
    return {batch.origins[i].topic, true};
  };
  const duckdb_timestamp ingest{ingest_time};
  int64_t seq = last_seq_;
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const int64_t row_seq = ++seq;
    const auto [topic_name, from_kafka] = topic(i);
    if (const auto* s = std::get_if<SensorReading>(&batch.records[i])) {
      const DeviceKeys::Interned key = keys_->Intern(
          {"sensor", s->device_id, s->location, s->measurement_type, s->unit, s->placement.site,
           s->placement.room, s->placement.row, s->placement.rack, s->position, topic_name},
          from_kafka);
      if (Status st = sensors.NextRow(); !st.ok()) return st;
      sensors.Value(0, row_seq);
      sensors.Value(1, key.key);
      sensors.Value(2, s->value);
      sensors.Value(3, duckdb_timestamp{s->timestamp_micros});
      sensors.Optional(4, s->seq);
      sensors.Value(5, ingest);
      origin(sensors, 6, i);
      sensors.OptionalString(8, s->extra);
      derived.AddSensor(*s, key.series);
      ++stats.sensor_rows;
    } else {
      const auto& c = std::get<CoolingMetric>(batch.records[i]);
      const int32_t key =
          keys_
              ->Intern({"cooling", c.system_id, "", "", "", c.placement.site, c.placement.room,
                        c.placement.row, c.placement.rack, "", topic_name},
                       from_kafka)
              .key;
      if (Status st = cooling.NextRow(); !st.ok()) return st;
      cooling.Value(0, row_seq);
      cooling.Value(1, key);
      cooling.Value(2, c.efficiency_percent);
      cooling.Value(3, c.power_consumption_watts);
      cooling.Value(4, duckdb_timestamp{c.timestamp_micros});
      cooling.Optional(5, c.seq);
      cooling.Optional(6, c.supply_air_temp_celsius);
      cooling.Optional(7, c.return_air_temp_celsius);
      cooling.Optional(8, c.fan_speed_percent);
      cooling.Value(9, ingest);
      origin(cooling, 10, i);
      cooling.OptionalString(12, c.extra);
      derived.AddCooling(c);
      ++stats.cooling_rows;
    }
  }
  if (Status st = keys_->AppendPending(*device_keys_); !st.ok()) return st;
  if (Status st = keys_->AppendPendingSeries(*series_); !st.ok()) return st;
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
  if (batch.records.empty()) return staging_ ? MoveStaged() : Status::Ok();
  Result<Derived::Appended> appended =
      derived.Append(*rollups_, *batch_rollups_, *batch_devices_, *stored_minutes_);
  if (!appended.ok()) return appended.status();
  pending_newest_ = std::move(appended->newest);
  if (staging_) {
    if (Status s = MoveStaged(); !s.ok()) return s;
  }
  return Merge(appended->merged_first, appended->merged_last, appended->merged_rows);
}

// Moves the staged batch into the real tables, in the batch's transaction.
Status Writer::MoveStaged() {
  for (const AppendedTable& t : kAppendedTables) {
    if (Status s =
            conn_->Execute(fmt::format("INSERT INTO {} SELECT * FROM {}", t.table, Staged(t)));
        !s.ok())
      return s;
  }
  return Status::Ok();
}

// Merges the batch's rollups that may already be in rollup_facts (`rows` of them, of minutes from
// `first` to `last`) and its devices, computed in C++ and appended to TEMP tables, into what is
// there. By hand rather than through a primary key: an upsert through the key index cost most of a
// batch's time and file (docs/benchmarks.md). The range lets DuckDB skip older row groups; the
// batch's newer minutes were appended straight to rollup_facts. A rollup the update found no row
// for (a series' first minute here, a late record's) is inserted; the search for those scans the
// range again, so it runs only when the update counted fewer rows than it was given, which in a
// backlog is almost never (docs/benchmarks.md).
Status Writer::Merge(int32_t first, int32_t last, int64_t rows) {
  if (first <= last) {
    const std::string same_key = fmt::format(
        "r.minute BETWEEN {} AND {} AND r.series_key = b.series_key AND r.minute = b.minute", first,
        last);
    Result<QueryResult> updated = conn_->Query(fmt::format(R"sql(
UPDATE rollup_facts r SET
  count = r.count + b.count, min = least(r.min, b.min), max = greatest(r.max, b.max), sum = r.sum + b.sum,
  last_value = CASE WHEN b.last_offset >= r.last_offset THEN b.last_value ELSE r.last_value END,
  last_offset = greatest(r.last_offset, b.last_offset)
FROM temp.main.dcmon_batch_rollups b WHERE {})sql",
                                                           same_key));
    if (!updated.ok()) return updated.status();
    // Each (series, minute) has one row, so each rollup updated one or none.
    if (updated->Int64(0, 0) < rows) {
      if (Status s = conn_->Execute(fmt::format(R"sql(
INSERT INTO rollup_facts
SELECT * FROM temp.main.dcmon_batch_rollups b WHERE NOT EXISTS (SELECT 1 FROM rollup_facts r WHERE {}))sql",
                                                same_key));
          !s.ok())
        return s;
    }
  }
  return conn_->Execute(R"sql(
DELETE FROM temp.main.dcmon_batch_rollups;
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
)sql");
}

// One statement for every partition of the batch, from a TEMP table the offsets are appended to:
// an upsert per partition cost more than the rows (128 partitions: 0.5 s a batch), and one
// statement listing them all as VALUES spent 3 % of a backlog's CPU in DuckDB's planner.
Status Writer::StoreOffsets(const std::vector<StoredOffset>& offsets, int64_t ingest_time_micros) {
  if (Status s = OpenAppenders(); !s.ok()) return s;
  Appender& a = *batch_offsets_;
  for (const StoredOffset& o : offsets) {
    if (Status s = a.NextRow(); !s.ok()) return s;
    a.String(0, o.topic);
    a.Value(1, o.partition);
    a.Value(2, o.next_offset);
    a.Value(3, duckdb_timestamp{ingest_time_micros});
  }
  if (Status s = a.Flush(); !s.ok()) return s;
  return conn_->Execute(R"sql(
INSERT INTO ingest_offsets SELECT * FROM temp.main.dcmon_batch_offsets
ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at;
DELETE FROM temp.main.dcmon_batch_offsets;
)sql");
}

Result<CommitStats> Writer::Commit(const WriteBatch& batch, int64_t ingest_time_micros) {
  CommitStats stats;
  pending_newest_.clear();
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
    keys_->RolledBack();
    return s;
  }
  keys_->Committed();
  stored_minutes_->Stored(pending_newest_);
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
