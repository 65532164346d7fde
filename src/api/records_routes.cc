// Reads of the stored records: the Airbyte endpoint and /api/v1/readings, /cooling (paged on the
// ingest cursor), /devices, and /series (downsampled, from the hourly or 1-minute rollups when
// the step allows). Pages are written straight from DuckDB's data chunks into the response body, in
// the bytes the record encoder (core/record_json.h) gives, so a record reads back exactly as it was
// sent, plus its `ingest_seq`.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <span>

#include "api/routes.h"
#include "core/json_writer.h"
#include "core/time.h"
#include "store/duckdb.h"
#include "store/query.h"
#include "store/rollups_hourly.h"

namespace dcmon::api {

Result<std::optional<int64_t>> TimeParam(const HttpRequest& req, std::string_view name) {
  const std::optional<std::string_view> v = req.Param(name);
  if (!v) return std::optional<int64_t>();
  Result<int64_t> t = ParseRfc3339(*v);
  if (!t.ok()) return t.status().WithPrefix(fmt::format("{}: ", name));
  return std::optional<int64_t>(*t);
}

HttpResponse BadParam(const Status& s) {
  return Problem(400, "invalid query parameter", s.message());
}

namespace {

using store::SqlString;

std::string TimeLiteral(int64_t micros) { return fmt::format("make_timestamptz({})", micros); }

}  // namespace

Result<CursorPage> ParseCursorPage(const Api::Context& ctx, const HttpRequest& req) {
  CursorPage p;
  Result<int64_t> start = IntParam(req, "start", 0, 0, INT64_MAX);
  if (!start.ok()) return start.status();
  p.start = *start;
  if (req.Param("end")) {
    Result<int64_t> end = IntParam(req, "end", 0, 0, INT64_MAX);
    if (!end.ok()) return end.status();
    p.end = *end;
  }
  Result<int64_t> limit =
      IntParam(req, "limit", ctx.options.page_limit, 1, ctx.options.max_page_limit);
  if (!limit.ok()) return limit.status();
  p.limit = *limit;
  return p;
}

namespace {

Status AddFilters(const HttpRequest& req, std::string_view device_column, CursorPage& p,
                  bool with_measurement) {
  if (auto v = req.Param("device"))
    p.where += fmt::format(" AND {} = {}", device_column, SqlString(*v));
  if (auto v = req.Param("room")) p.where += fmt::format(" AND room = {}", SqlString(*v));
  if (with_measurement) {
    if (auto v = req.Param("measurement"))
      p.where += fmt::format(" AND measurement_type = {}", SqlString(*v));
  }
  Result<std::optional<int64_t>> from = TimeParam(req, "from");
  if (!from.ok()) return from.status();
  if (*from) p.where += fmt::format(" AND event_time >= {}", TimeLiteral(**from));
  Result<std::optional<int64_t>> to = TimeParam(req, "to");
  if (!to.ok()) return to.status();
  if (*to) p.where += fmt::format(" AND event_time < {}", TimeLiteral(**to));
  return Status::Ok();
}

// `sorted`: ORDER BY ingest_seq in SQL; without it the rows come in the order they were stored.
// `limited`: at most `limit` rows.
std::string PageSql(std::string_view columns, std::string_view table, const CursorPage& p,
                    bool sorted, bool limited = true) {
  return fmt::format("SELECT {} FROM {} WHERE ingest_seq > {}{}{}{}{}", columns, table, p.start,
                     p.end ? fmt::format(" AND ingest_seq <= {}", *p.end) : std::string(), p.where,
                     sorted ? " ORDER BY ingest_seq" : "",
                     limited ? fmt::format(" LIMIT {}", p.limit) : std::string());
}

constexpr std::string_view kSensorColumns =
    "ingest_seq, device_id, location, measurement_type, value, epoch_us(event_time), unit, seq, "
    "site, room, \"row\", rack, position, extra";
constexpr std::string_view kCoolingColumns =
    "ingest_seq, system_id, efficiency_percent, power_consumption_watts, epoch_us(event_time), "
    "seq, site, room, \"row\", rack, supply_air_temp_celsius, return_air_temp_celsius, "
    "fan_speed_percent, extra";

// Absent optional fields are left out, as AppendRecordJson leaves them out.
void OptionalString(JsonWriter& w, const JsonKey& key, std::string_view value) {
  if (value.empty()) return;
  w.Key(key);
  w.String(value);
}

void OptionalInt(JsonWriter& w, const JsonKey& key, const store::RowCursor& r, size_t col) {
  if (r.IsNull(col)) return;
  w.Key(key);
  w.Int(r.Int64(col));
}

void OptionalDouble(JsonWriter& w, const JsonKey& key, const store::RowCursor& r, size_t col) {
  if (r.IsNull(col)) return;
  w.Key(key);
  w.Double(r.Double(col));
}

void WritePlacement(JsonWriter& w, const store::RowCursor& r, size_t site) {
  OptionalString(w, "site", r.Text(site));
  OptionalString(w, "room", r.Text(site + 1));
  OptionalString(w, "row", r.Text(site + 2));
  OptionalString(w, "rack", r.Text(site + 3));
}

// Writes the row of kSensorColumns as {"ingest_seq":N, then the members AppendRecordJson
// (core/record_json.cc) gives the record, in its order}, straight from the chunk's vectors into
// the body. The golden test (records_routes_test.cc) holds the two byte for byte equal.
void WriteSensor(const store::RowCursor& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("ingest_seq");
  w.Int(r.Int64(0));
  w.Key("source_type");
  w.String("sensor");
  w.Key("device_id");
  w.String(r.Text(1));
  w.Key("location");
  w.String(r.Text(2));
  w.Key("measurement_type");
  w.String(r.Text(3));
  w.Key("value");
  w.Double(r.Double(4));
  w.Key("timestamp");
  w.Timestamp(r.Int64(5));
  OptionalString(w, "unit", r.Text(6));
  OptionalInt(w, "seq", r, 7);
  WritePlacement(w, r, 8);
  OptionalString(w, "position", r.Text(12));
  w.Members(r.Text(13));
  w.EndObject();
}

// The same for a row of kCoolingColumns.
void WriteCooling(const store::RowCursor& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("ingest_seq");
  w.Int(r.Int64(0));
  w.Key("source_type");
  w.String("cooling");
  w.Key("system_id");
  w.String(r.Text(1));
  w.Key("efficiency_percent");
  w.Double(r.Double(2));
  w.Key("power_consumption_watts");
  w.Double(r.Double(3));
  w.Key("timestamp");
  w.Timestamp(r.Int64(4));
  OptionalInt(w, "seq", r, 5);
  WritePlacement(w, r, 6);
  OptionalDouble(w, "supply_air_temp_celsius", r, 10);
  OptionalDouble(w, "return_air_temp_celsius", r, 11);
  OptionalDouble(w, "fan_speed_percent", r, 12);
  w.Members(r.Text(13));
  w.EndObject();
}

constexpr std::initializer_list<duckdb_type> kSensorTypes = {
    DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR,
    DUCKDB_TYPE_DOUBLE,  DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_BIGINT,
    DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR,
    DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR};
constexpr std::initializer_list<duckdb_type> kCoolingTypes = {
    DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_DOUBLE,  DUCKDB_TYPE_DOUBLE,
    DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR,
    DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_DOUBLE,  DUCKDB_TYPE_DOUBLE,
    DUCKDB_TYPE_DOUBLE,  DUCKDB_TYPE_VARCHAR};

// One table's page, one row at a time: `rows` is on the current row while `valid`, and `seq` is
// its ingest_seq. `ascending` turns false if a row's ingest_seq is not above the one before it.
struct TableRows {
  using Write = void (*)(const store::RowCursor&, JsonWriter&);
  TableRows(store::RowCursor cursor, Write write) : rows(std::move(cursor)), write(write) {
    Advance();
  }
  void Advance() {
    const int64_t previous = seq;
    valid = rows.Next();
    if (!valid) return;
    seq = rows.Int64(0);
    ascending = ascending && seq > previous;
  }
  store::RowCursor rows;
  Write write;
  int64_t seq = INT64_MIN;
  bool valid = false;
  bool ascending = true;
};

// {"data":[...], "next_cursor": N|null, "limit": L}: next_cursor is null once a page comes back
// short, so a client pages until null and resumes from its last ingest_seq later. Both tables share
// one cursor: their pages are merged on it and the first `limit` rows written, straight from the
// query results. False, with `body` unspecified, if a table's rows were not in ingest_seq order.
bool WritePage(std::vector<TableRows>& tables, const CursorPage& p, std::string& body) {
  // Room for a full page of typical records (about 280 bytes each) up front: the body is written
  // once, never copied to a larger buffer.
  body.reserve(static_cast<size_t>(std::min<int64_t>(p.limit, 100'000)) * 320);
  {
    JsonWriter w(body);
    w.BeginObject();
    w.Key("data");
    w.BeginArray();
    int64_t rows = 0;
    int64_t last = 0;
    while (rows < p.limit) {
      TableRows* next = nullptr;
      for (TableRows& t : tables) {
        if (t.valid && (!next || t.seq < next->seq)) next = &t;
      }
      if (!next || !next->ascending) break;
      next->write(next->rows, w);
      last = next->seq;
      ++rows;
      next->Advance();
    }
    w.EndArray();
    w.Key("next_cursor");
    if (rows == p.limit) {
      w.Int(last);
    } else {
      w.Null();
    }
    w.Key("limit");
    w.Int(p.limit);
    w.EndObject();
  }
  return std::all_of(tables.begin(), tables.end(), [](const TableRows& t) { return t.ascending; });
}

}  // namespace

Result<std::optional<int64_t>> PageEnd(store::Connection& conn, const CursorPage& p,
                                       const std::vector<std::string_view>& tables) {
  auto cursors = [&](const CursorPage& window) {
    std::string sql;
    for (std::string_view t : tables) {
      if (!sql.empty()) sql += " UNION ALL ";
      sql += PageSql("ingest_seq", t, window, /*sorted=*/false, /*limited=*/false);
    }
    return sql;
  };
  Result<store::QueryResult> rest =
      conn.Query(fmt::format("SELECT count(*), max(ingest_seq) FROM ({})", cursors(p)));
  if (!rest.ok()) return rest.status();
  const int64_t count = rest->Int64(0, 0);
  if (count == 0) return std::optional<int64_t>();
  const int64_t last = rest->Int64(1, 0);
  if (count <= p.limit) return std::optional<int64_t>(last);
  const int64_t span = last - p.start;
  int64_t width = static_cast<int64_t>(
      std::min<double>(span, static_cast<double>(span) / count * p.limit * 1.25 + 1));
  for (;;) {
    CursorPage window = p;
    window.end = p.start + width;
    Result<store::QueryResult> r = conn.Query(
        fmt::format("SELECT count(*), max(ingest_seq) FROM (SELECT ingest_seq FROM ({}) ORDER BY "
                    "ingest_seq LIMIT {})",
                    cursors(window), p.limit));
    if (!r.ok()) return r.status();
    // The window ends at `last` at the latest, which has more than `limit` rows before it.
    if (r->Int64(0, 0) == p.limit) return std::optional<int64_t>(r->Int64(1, 0));
    width = width > span / 2 ? span : width * 2;
  }
}

namespace {

// A record table as the page reads it.
struct TableDef {
  std::string_view name;
  std::string_view columns;
  std::initializer_list<duckdb_type> types;
  TableRows::Write write;
};
constexpr TableDef kSensorTable = {"sensor_readings", kSensorColumns, kSensorTypes, WriteSensor};
constexpr TableDef kCoolingTable = {"cooling_metrics", kCoolingColumns, kCoolingTypes,
                                    WriteCooling};
// /api/airbyte/all: cooling first, so that the larger sensor table streams.
constexpr TableDef kAllTables[] = {kCoolingTable, kSensorTable};

// A page is read in two steps: its last ingest_seq first (PageEnd), then each table's rows up to
// it, which the scan finds by the row groups' min/max. With `sorted` false the rows come in the
// order they were stored (ingest_seq order, as the loader writes): sorting them in SQL cost as much
// as everything else together (docs/benchmarks.md). The last table's rows stream (a connection
// streams one result at a time): they are scanned while the page is written, never copied into a
// result. Returns the body, or nullopt if a table's rows were out of ingest_seq order (only when
// not `sorted`).
Result<std::optional<std::string>> ReadPage(store::Connection& conn, const CursorPage& p,
                                            std::span<const TableDef> tables, bool sorted) {
  std::vector<std::string_view> names;
  for (const TableDef& t : tables) names.push_back(t.name);
  Result<std::optional<int64_t>> end = PageEnd(conn, p, names);
  if (!end.ok()) return end.status();
  std::vector<store::QueryResult> results;  // outlive the cursors that read them
  std::vector<TableRows> rows;
  results.reserve(tables.size());
  rows.reserve(tables.size());
  if (*end) {
    CursorPage up_to_end = p;
    up_to_end.end = *end;
    for (const TableDef& t : tables) {
      const std::string sql = PageSql(t.columns, t.name, up_to_end, sorted);
      Result<store::QueryResult> r =
          &t == &tables.back() ? store::StreamQuery(conn, sql) : conn.Query(sql);
      if (!r.ok()) return r.status();
      results.push_back(std::move(*r));
      Result<store::RowCursor> cursor = store::RowCursor::Open(results.back(), t.types);
      if (!cursor.ok()) return cursor.status();
      rows.emplace_back(std::move(*cursor), t.write);
    }
  }
  std::string body;
  const bool ascending = WritePage(rows, p, body);
  for (const TableRows& t : rows) {
    if (Status s = t.rows.status(); !t.valid && !s.ok()) return s;
  }
  if (!ascending) return std::optional<std::string>();
  return std::optional<std::string>(std::move(body));
}

void PagedRecords(Api::Context& ctx, HttpRequest& req, Respond& respond,
                  std::span<const TableDef> tables) {
  Result<CursorPage> page = ParseCursorPage(ctx, req);
  if (!page.ok()) return respond(BadParam(page.status()));
  if (tables.size() == 1) {
    const bool sensors = tables[0].name == kSensorTable.name;
    if (Status s = AddFilters(req, sensors ? "device_id" : "system_id", *page, sensors); !s.ok())
      return respond(BadParam(s));
  }
  OnPool(ctx.parts.reads, respond, [p = *page, tables](store::Connection& conn) {
    Result<std::optional<std::string>> body = ReadPage(conn, p, tables, /*sorted=*/false);
    if (body.ok() && !*body) body = ReadPage(conn, p, tables, /*sorted=*/true);
    if (!body.ok()) return StoreFailed(body.status());
    return Json(std::move(**body));
  });
}

}  // namespace

Result<int64_t> IntParam(const HttpRequest& req, std::string_view name, int64_t fallback,
                         int64_t min, int64_t max) {
  const std::optional<std::string_view> v = req.Param(name);
  if (!v) return fallback;
  int64_t x = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || end != v->data() + v->size() || x < min || x > max) {
    return InvalidArgument(
        fmt::format("{}: expected an integer from {} to {}, got \"{}\"", name, min, max, *v));
  }
  return x;
}

HttpResponse StoreFailed(const Status& s) {
  return ProblemFrom(s, s.code() == StatusCode::kDeadlineExceeded ? "query timed out" : "");
}

void AirbyteAll(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  PagedRecords(ctx, req, respond, kAllTables);
}
void Readings(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  PagedRecords(ctx, req, respond, {&kSensorTable, 1});
}
void Cooling(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  PagedRecords(ctx, req, respond, {&kCoolingTable, 1});
}

void Devices(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  std::string where = "TRUE";
  if (auto v = req.Param("kind")) where += fmt::format(" AND kind = {}", SqlString(*v));
  if (auto v = req.Param("room")) where += fmt::format(" AND room = {}", SqlString(*v));
  OnPool(ctx.parts.reads, respond, [where](store::Connection& conn) {
    Result<store::QueryResult> r = conn.Query(fmt::format(
        "SELECT device_id, kind, measurement_type, unit, location, site, room, \"row\", rack, "
        "position, epoch_us(first_seen), epoch_us(last_seen) FROM devices WHERE {} ORDER BY "
        "device_id",
        where));
    if (!r.ok()) return StoreFailed(r.status());
    static constexpr JsonKey kKeys[] = {
        "device_id", "kind", "measurement_type", "unit", "location", "site", "room",
        "row",       "rack", "position"};
    std::string body;
    {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("data");
      w.BeginArray();
      for (size_t i = 0; i < r->rows(); ++i) {
        w.BeginObject();
        for (size_t c = 0; c < std::size(kKeys); ++c) {
          if (r->IsNull(c, i)) continue;
          w.Key(kKeys[c]);
          w.String(*r->Text(c, i));
        }
        w.Key("first_seen");
        w.Timestamp(r->Int64(10, i));
        w.Key("last_seen");
        w.Timestamp(r->Int64(11, i));
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    return Json(std::move(body));
  });
}

void Series(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  const std::optional<std::string_view> device = req.Param("device");
  const std::optional<std::string_view> room = req.Param("room");
  const std::optional<std::string_view> position = req.Param("position");
  const std::optional<std::string_view> measurement = req.Param("measurement");
  if (device.has_value() == room.has_value() || !measurement) {
    return respond(Problem(400, "missing query parameter",
                           "measurement and one of device or room are required (e.g. "
                           "?device=room-1-a01-inlet-top&measurement=temperature or "
                           "?room=room-1&position=inlet&measurement=temperature)"));
  }
  if (position && !room) {
    return respond(BadParam(InvalidArgument("position: only with room")));
  }
  Result<std::optional<int64_t>> from = TimeParam(req, "from");
  Result<std::optional<int64_t>> to = TimeParam(req, "to");
  if (!from.ok()) return respond(BadParam(from.status()));
  if (!to.ok()) return respond(BadParam(to.status()));
  const int64_t now = NowMicros();
  const int64_t end = to->value_or(now);
  const int64_t begin = from->value_or(end - 3'600'000'000);
  if (begin >= end) return respond(BadParam(InvalidArgument("from: must be before to")));
  // Default step: about 300 points over the range, at least a second.
  const int64_t auto_step = std::max<int64_t>(1, (end - begin) / 300'000'000);
  Result<int64_t> step = IntParam(req, "step", auto_step, 1, 366 * 86400);
  if (!step.ok()) return respond(BadParam(step.status()));
  if ((end - begin) / (*step * 1'000'000) > 100'000) {
    return respond(
        BadParam(InvalidArgument("step: over 100,000 points in the range; use a larger step")));
  }
  // Cooling units' fields are their measurements.
  static constexpr std::string_view kCoolingFields[] = {
      "efficiency_percent", "power_consumption_watts", "supply_air_temp_celsius",
      "return_air_temp_celsius", "fan_speed_percent"};
  const bool cooling = std::find(std::begin(kCoolingFields), std::end(kCoolingFields),
                                 *measurement) != std::end(kCoolingFields);
  if (cooling && room) {
    return respond(BadParam(InvalidArgument(
        "measurement: a room's series is of its sensors, not of a cooling unit's fields")));
  }
  // The coarsest rollups the step allows: a week of hours reads 168 rows a series, not 10,080.
  const std::string_view source = cooling             ? "raw"
                                  : *step % 3600 == 0 ? "rollups_1h"
                                  : *step % 60 == 0   ? "rollups_1m"
                                                      : "raw";
  const std::string devices =
      device ? fmt::format("device_id = {}", SqlString(*device))
             : fmt::format(
                   "device_id IN (SELECT device_id FROM devices WHERE kind = 'sensor' AND "
                   "room = {}{})",
                   SqlString(*room),
                   position ? fmt::format(" AND starts_with(position, {})", SqlString(*position))
                            : "");
  // The request's views end with this call; the query runs later.
  auto copy = [](std::optional<std::string_view> v) {
    return v ? std::optional<std::string>(*v) : std::nullopt;
  };
  OnPool(ctx.parts.reads, respond,
         [source, devices, begin, end, cooling, step = *step, device = copy(device),
          room = copy(room), position = copy(position),
          measurement = std::string(*measurement)](store::Connection& conn) {
           std::string relation = "rollups_1m";
           std::string time_column = "minute";
           if (source == "rollups_1h") {
             Result<int64_t> covered = store::HourlyRollupsCoveredUntil(conn);
             if (!covered.ok()) return StoreFailed(covered.status());
             // The hours that start in [begin, end).
             constexpr int64_t kHour = 3'600'000'000;
             auto ceil_hour = [](int64_t t) { return (t + kHour - 1) / kHour * kHour; };
             relation =
                 store::HourlyRollupsSql(*covered, devices, ceil_hour(begin), ceil_hour(end));
             time_column = "hour";
           } else if (source == "raw") {
             time_column = "event_time";
           }
           const std::string range = fmt::format("{1} >= {0} AND {1} < {2}", TimeLiteral(begin),
                                                 time_column, TimeLiteral(end));
           std::string sql;
           if (source != "raw") {
             sql = fmt::format(
                 "SELECT epoch_us(time_bucket(to_seconds({0}), {4})) AS t, sum(count), min(min), "
                 "max(max), sum(sum) / sum(count), arg_max(last_value, last_time) FROM {1} r "
                 "WHERE {2} AND measurement_type = {3} AND {5} GROUP BY t ORDER BY t",
                 step, relation, devices, SqlString(measurement), time_column, range);
           } else if (cooling) {
             sql = fmt::format(
                 "SELECT epoch_us(time_bucket(to_seconds({0}), event_time)) AS t, count({1}), "
                 "min({1}), max({1}), avg({1}), arg_max({1}, event_time) FROM cooling_metrics "
                 "WHERE system_id = {2} AND {3} GROUP BY t ORDER BY t",
                 step, measurement, SqlString(*device), range);
           } else {
             sql = fmt::format(
                 "SELECT epoch_us(time_bucket(to_seconds({0}), event_time)) AS t, count(*), "
                 "min(value), max(value), avg(value), arg_max(value, event_time) FROM "
                 "sensor_readings WHERE {1} AND measurement_type = {2} AND {3} GROUP BY t ORDER "
                 "BY t",
                 step, devices, SqlString(measurement), range);
           }
           Result<store::QueryResult> r = conn.Query(sql);
           if (!r.ok()) return StoreFailed(r.status());
           std::string body;
           {
             JsonWriter w(body);
             w.BeginObject();
             if (device) {
               w.Key("device_id");
               w.String(*device);
             } else {
               w.Key("room");
               w.String(*room);
               if (position) {
                 w.Key("position");
                 w.String(*position);
               }
             }
             w.Key("measurement");
             w.String(measurement);
             w.Key("step_seconds");
             w.Int(step);
             w.Key("source");
             w.String(source);
             w.Key("points");
             w.BeginArray();
             for (size_t i = 0; i < r->rows(); ++i) {
               if (r->Int64(1, i) == 0) continue;  // a bucket of NULLs (a stopped fan's temps)
               w.BeginObject();
               w.Key("time");
               w.Timestamp(r->Int64(0, i));
               w.Key("count");
               w.Int(r->Int64(1, i));
               w.Key("min");
               w.Double(r->Double(2, i));
               w.Key("max");
               w.Double(r->Double(3, i));
               w.Key("avg");
               w.Double(r->Double(4, i));
               w.Key("last");
               w.Double(r->Double(5, i));
               w.EndObject();
             }
             w.EndArray();
             w.EndObject();
           }
           return Json(std::move(body));
         });
}

}  // namespace dcmon::api
