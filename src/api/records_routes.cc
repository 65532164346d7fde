// Reads of the stored records: the Airbyte endpoint and /api/v1/readings, /cooling (paged on the
// ingest cursor), /devices, and /series (downsampled, from the hourly or 1-minute rollups when
// the step allows). Pages are written straight from the fact tables' data chunks into the response
// body, each row its numbers between its device key's fragments (api/device_fragments.h), in the
// bytes the record encoder (core/record_json.h) gives, so a record reads back exactly as it was
// sent, plus its `ingest_seq`.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "api/routes.h"
#include "core/json_writer.h"
#include "core/time.h"
#include "store/duckdb.h"
#include "store/query.h"
#include "store/rollups_hourly.h"
#include "store/schema.h"

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

// The endpoint's filters: placement and identity select device keys (in the same statement, so a
// device first stored after the cache was filled still matches), times filter the facts.
Status AddFilters(const HttpRequest& req, CursorPage& p, bool with_measurement) {
  std::string keys;
  if (auto v = req.Param("device")) keys += fmt::format(" AND device_id = {}", SqlString(*v));
  if (auto v = req.Param("room")) keys += fmt::format(" AND room = {}", SqlString(*v));
  if (with_measurement) {
    if (auto v = req.Param("measurement"))
      keys += fmt::format(" AND measurement_type = {}", SqlString(*v));
  }
  if (!keys.empty()) {
    p.where +=
        fmt::format(" AND device_key IN (SELECT device_key FROM device_keys WHERE TRUE{})", keys);
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

// The fact tables' columns a page reads (store/schema.cc); the rest of a record is its device
// key's fragments. Column 0 is ingest_seq and column 1 device_key in both.
constexpr std::string_view kSensorColumns = "ingest_seq, device_key, value, event_time, seq, extra";
constexpr std::initializer_list<duckdb_type> kSensorTypes = {
    DUCKDB_TYPE_BIGINT,       DUCKDB_TYPE_INTEGER, DUCKDB_TYPE_DOUBLE,
    DUCKDB_TYPE_TIMESTAMP_TZ, DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_VARCHAR};
constexpr std::string_view kCoolingColumns =
    "ingest_seq, device_key, efficiency_percent, power_consumption_watts, event_time, seq, "
    "supply_air_temp_celsius, return_air_temp_celsius, fan_speed_percent, extra";
constexpr std::initializer_list<duckdb_type> kCoolingTypes = {
    DUCKDB_TYPE_BIGINT,       DUCKDB_TYPE_INTEGER, DUCKDB_TYPE_DOUBLE, DUCKDB_TYPE_DOUBLE,
    DUCKDB_TYPE_TIMESTAMP_TZ, DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_DOUBLE, DUCKDB_TYPE_DOUBLE,
    DUCKDB_TYPE_DOUBLE,       DUCKDB_TYPE_VARCHAR};

// A row is written at a raw cursor (JsonWriter::RawValue): fragments copied, numbers written in
// place. Every member after the first follows a comma.
char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
// ,"key": (copied whole: the row's room counts kCapacity bytes per key).
char* PutKey(char* p, const JsonKey& k) {
  *p++ = ',';
  std::memcpy(p, k.quoted(), JsonKey::kCapacity);
  return p + k.size();
}
char* PutTimestamp(char* p, int64_t micros) {
  p = PutKey(p, "timestamp");
  *p++ = '"';
  p = WriteRfc3339(micros, p);
  *p++ = '"';
  return p;
}
char* PutOptionalInt(char* p, const JsonKey& k, const store::RowCursor& r, size_t col) {
  return r.IsNull(col) ? p : WriteJsonInt(r.Int64(col), PutKey(p, k));
}
char* PutOptionalDouble(char* p, const JsonKey& k, const store::RowCursor& r, size_t col) {
  return r.IsNull(col) ? p : WriteJsonNumber(r.Double(col), PutKey(p, k));
}
// The members of the record's unknown fields (JsonWriter::Members).
char* PutExtra(char* p, std::string_view extra) {
  if (extra.size() <= 2) return p;
  *p++ = ',';
  return Put(p, extra.substr(1, extra.size() - 2));
}
// {"ingest_seq":N
char* PutIngestSeq(char* p, int64_t seq) {
  *p++ = '{';
  constexpr JsonKey kKey = "ingest_seq";
  std::memcpy(p, kKey.quoted(), JsonKey::kCapacity);
  return WriteJsonInt(seq, p + kKey.size());
}
// Room for a row's keys, numbers and punctuation besides its fragments and extra: at most a cooling
// row's seven keys (each copied whole), five doubles, two integers and a timestamp.
constexpr size_t kRowRoom = 7 * (JsonKey::kCapacity + 1) + 5 * kJsonNumberMaxLength +
                            2 * kJsonIntMaxLength + kRfc3339MaxLength + 8;

// Writes the sensor_facts row as {"ingest_seq":N, then the members AppendRecordJson
// (core/record_json.cc) gives the record, in its order}, straight from the chunk's vectors and the
// device's fragments into the body. The golden test (records_routes_test.cc) holds the two byte
// for byte equal.
void WriteSensor(const store::RowCursor& r, const DeviceFragments& d, JsonWriter& w) {
  const std::string_view extra = r.Text(5);
  w.RawValue(kRowRoom + d.head.size() + d.unit.size() + d.tail.size() + extra.size(), [&](char* p) {
    p = PutIngestSeq(p, r.Int64(0));
    p = WriteJsonNumber(r.Double(2), Put(p, d.head));
    p = Put(PutTimestamp(p, r.Int64(3)), d.unit);
    p = Put(PutOptionalInt(p, "seq", r, 4), d.tail);
    p = PutExtra(p, extra);
    *p++ = '}';
    return p;
  });
}

// The same for a cooling_facts row.
void WriteCooling(const store::RowCursor& r, const DeviceFragments& d, JsonWriter& w) {
  const std::string_view extra = r.Text(9);
  w.RawValue(kRowRoom + d.head.size() + d.tail.size() + extra.size(), [&](char* p) {
    p = PutIngestSeq(p, r.Int64(0));
    p = WriteJsonNumber(r.Double(2), Put(p, d.head));
    p = WriteJsonNumber(r.Double(3), PutKey(p, "power_consumption_watts"));
    p = PutTimestamp(p, r.Int64(4));
    p = Put(PutOptionalInt(p, "seq", r, 5), d.tail);
    p = PutOptionalDouble(p, "supply_air_temp_celsius", r, 6);
    p = PutOptionalDouble(p, "return_air_temp_celsius", r, 7);
    p = PutOptionalDouble(p, "fan_speed_percent", r, 8);
    p = PutExtra(p, extra);
    *p++ = '}';
    return p;
  });
}

// One table's page, one row at a time: `rows` is on the current row while `valid`, and `seq` is
// its ingest_seq. `ascending` turns false if a row's ingest_seq is not above the one before it.
struct TableRows {
  using Write = void (*)(const store::RowCursor&, const DeviceFragments&, JsonWriter&);
  TableRows(store::RowCursor cursor, Write write, bool cooling)
      : rows(std::move(cursor)), write(write), cooling(cooling) {
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
  bool cooling;
  int64_t seq = INT64_MIN;
  bool valid = false;
  bool ascending = true;
};

// How writing a page ended: written (`rows` of them), or given up at a row out of ingest_seq order
// or at a device key the snapshot lacks (`key`, of a cooling unit or a sensor).
struct PageOutcome {
  enum { kWritten, kOutOfOrder, kUnknownKey } kind = kWritten;
  int64_t key = 0;
  bool cooling = false;
  int64_t rows = 0;
};

// {"data":[...], "next_cursor": N|null, "limit": L}: next_cursor is null once a page comes back
// short, so a client pages until null and resumes from its last ingest_seq later. Both tables share
// one cursor: their pages are merged on it and the first `limit` rows written, straight from the
// query results; the rows after those are read to the end only to check their order. Unless the
// outcome is kWritten, `body` is unspecified.
PageOutcome WritePage(std::vector<TableRows>& tables, const CursorPage& p,
                      const DeviceFragmentCache::Snapshot& devices, std::string& body) {
  // Room for a full page of typical records (about 280 bytes each) up front: the body is written
  // once, never copied to a larger buffer.
  body.clear();
  body.reserve(static_cast<size_t>(std::min<int64_t>(p.limit, 100'000)) * 320);
  PageOutcome outcome;
  JsonWriter w(body);
  w.BeginObject();
  w.Key("data");
  w.BeginArray();
  int64_t last = 0;
  while (outcome.rows < p.limit) {
    TableRows* next = nullptr;
    for (TableRows& t : tables) {
      if (t.valid && (!next || t.seq < next->seq)) next = &t;
    }
    if (!next) break;
    if (!next->ascending) return {PageOutcome::kOutOfOrder};
    const int64_t key = next->rows.Int32(1);
    const DeviceFragments* d = devices.Find(key, next->cooling);
    if (!d) return {PageOutcome::kUnknownKey, key, next->cooling};
    next->write(next->rows, *d, w);
    last = next->seq;
    ++outcome.rows;
    next->Advance();
  }
  // A row stored after the last one written may still be below it.
  for (TableRows& t : tables) {
    while (t.valid && t.ascending) t.Advance();
    if (!t.ascending) return {PageOutcome::kOutOfOrder};
  }
  w.EndArray();
  w.Key("next_cursor");
  if (outcome.rows == p.limit) {
    w.Int(last);
  } else {
    w.Null();
  }
  w.Key("limit");
  w.Int(p.limit);
  w.EndObject();
  return outcome;
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

// A record table as the page reads it: the narrow facts, not the wide views over them (the views
// look up a dozen strings per row, five times the cost of the scan).
struct TableDef {
  std::string_view name;
  std::string_view columns;
  std::initializer_list<duckdb_type> types;
  TableRows::Write write;
  bool cooling;
};
constexpr TableDef kSensorTable = {"sensor_facts", kSensorColumns, kSensorTypes, WriteSensor,
                                   false};
constexpr TableDef kCoolingTable = {"cooling_facts", kCoolingColumns, kCoolingTypes, WriteCooling,
                                    true};
// /api/airbyte/all: cooling first, so that the larger sensor table streams.
constexpr TableDef kAllTables[] = {kCoolingTable, kSensorTable};

// Writes the page of the rows in (p.start, p.end] into `body`, each table's rows found by the row
// groups' min/max. With `sorted` false the rows come in the order they were stored (ingest_seq
// order, as the loader writes): sorting them in SQL cost as much as everything else together
// (docs/benchmarks.md). The last table's rows stream (a connection streams one result at a time):
// they are scanned while the page is written, never copied into a result.
Result<PageOutcome> ReadPage(store::Connection& conn, const CursorPage& p,
                             std::span<const TableDef> tables, bool sorted,
                             const DeviceFragmentCache::Snapshot& devices, std::string& body) {
  std::vector<store::QueryResult> results;  // outlive the cursors that read them
  std::vector<TableRows> rows;
  results.reserve(tables.size());
  rows.reserve(tables.size());
  for (const TableDef& t : tables) {
    const std::string sql = PageSql(t.columns, t.name, p, sorted, /*limited=*/false);
    Result<store::QueryResult> r =
        &t == &tables.back() ? store::StreamQuery(conn, sql) : conn.Query(sql);
    if (!r.ok()) return r.status();
    results.push_back(std::move(*r));
    Result<store::RowCursor> cursor = store::RowCursor::Open(results.back(), t.types);
    if (!cursor.ok()) return cursor.status();
    rows.emplace_back(std::move(*cursor), t.write, t.cooling);
  }
  const PageOutcome outcome = WritePage(rows, p, devices, body);
  for (const TableRows& t : rows) {
    if (Status s = t.rows.status(); !t.valid && !s.ok()) return s;
  }
  return outcome;
}

// A page's rows are read from a window of ingest_seq, unsorted, and read again sorted if they were
// stored out of order, or after reading device_keys if a row's device key is newer than the cache.
// The first window is (start, start + 5/4 limit]: the loader numbers both tables' rows in one
// sequence, so without filters it holds a full page (of /api/airbyte/all, /api/v1/readings), and
// finding the page's end first (PageEnd) would cost more than reading the quarter more rows. A
// window that holds fewer than `limit` rows is read again up to the end PageEnd finds. A row's key
// was committed with the row, so a refresh after reading it finds it.
HttpResponse PageOf(store::Connection& conn, const CursorPage& p, std::span<const TableDef> tables,
                    DeviceFragmentCache& devices) {
  CursorPage window = p;
  const int64_t guess = p.start + std::min(p.limit + p.limit / 4, INT64_MAX - p.start);
  window.end = std::min(p.end.value_or(guess), guess);
  bool sorted = false;
  bool ended = window.end == p.end;  // the window reaches the page's end
  std::string body;
  for (;;) {
    Result<PageOutcome> page = ReadPage(conn, window, tables, sorted, *devices.Get(), body);
    if (!page.ok()) return StoreFailed(page.status());
    switch (page->kind) {
      case PageOutcome::kWritten:
        if (ended || page->rows == p.limit) return Json(std::move(body));
        {
          std::vector<std::string_view> names;
          for (const TableDef& t : tables) names.push_back(t.name);
          Result<std::optional<int64_t>> end = PageEnd(conn, p, names);
          if (!end.ok()) return StoreFailed(end.status());
          window.end = end->value_or(p.start);
          ended = true;
        }
        break;
      case PageOutcome::kOutOfOrder:
        if (sorted) return StoreFailed(Internal("two stored records share an ingest_seq"));
        sorted = true;
        break;
      case PageOutcome::kUnknownKey:
        if (Status s = devices.Refresh(conn); !s.ok()) return StoreFailed(s);
        // Absent still: device_keys lacks it (the re-read may meet keys newer yet, each found).
        if (!devices.Get()->Find(page->key, page->cooling)) {
          return StoreFailed(Internal(fmt::format(
              "device_key {} of a {} record is not a {} key in device_keys", page->key,
              page->cooling ? "cooling" : "sensor", page->cooling ? "cooling" : "sensor")));
        }
        break;
    }
  }
}

void PagedRecords(Api::Context& ctx, HttpRequest& req, Respond& respond,
                  std::span<const TableDef> tables) {
  Result<CursorPage> page = ParseCursorPage(ctx, req);
  if (!page.ok()) return respond(BadParam(page.status()));
  if (tables.size() == 1) {
    if (Status s = AddFilters(req, *page, !tables[0].cooling); !s.ok()) return respond(BadParam(s));
  }
  OnPool(ctx.parts.reads, respond,
         [p = *page, tables, devices = ctx.devices](store::Connection& conn) {
           return PageOf(conn, p, tables, *devices);
         });
}

// One /api/v1/series query as data: per bucket of `step` seconds over `time` in `relation`, the
// `aggregates` (count, min, max, avg, last, and the fleet's total, in that order) of the rows
// that pass every filter.
struct SeriesQuery {
  std::string relation;              // a table, or a parenthesised subquery
  std::string_view time;             // the timestamp column bucketed
  std::string aggregates;            // kOfRollups, OfValues(column), ...
  std::vector<std::string> filters;  // ANDed; none: every row
};

// The aggregates over rows shaped as rollups (count, min, max, sum, last_value, last_time).
constexpr std::string_view kOfRollups =
    "sum(count), min(min), max(max), sum(sum) / sum(count), arg_max(last_value, last_time)";

// The aggregates over raw rows, of their `column`.
std::string OfValues(std::string_view column) {
  return fmt::format("count({0}), min({0}), max({0}), avg({0}), arg_max({0}, event_time)", column);
}

std::string TimeRange(std::string_view column, int64_t begin, int64_t end) {
  return fmt::format("{1} >= {0} AND {1} < {2}", TimeLiteral(begin), column, TimeLiteral(end));
}

std::string SeriesSql(const SeriesQuery& q, int64_t step) {
  std::string where = "TRUE";
  for (const std::string& f : q.filters) where += " AND " + f;
  return fmt::format(
      "SELECT epoch_us(time_bucket(to_seconds({}), {})) AS t, {} FROM {} r WHERE {} GROUP BY t "
      "ORDER BY t",
      step, q.time, q.aggregates, q.relation, where);
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
  const std::optional<std::string_view> kind = req.Param("kind");
  const std::optional<std::string_view> measurement = req.Param("measurement");
  if (device.has_value() + room.has_value() + kind.has_value() != 1 || !measurement) {
    return respond(Problem(400, "missing query parameter",
                           "measurement and one of device, room or kind are required (e.g. "
                           "?device=room-1-a01-inlet-top&measurement=temperature, "
                           "?room=room-1&position=inlet&measurement=temperature or "
                           "?kind=cooling&measurement=power_consumption_watts)"));
  }
  if (position && !room) {
    return respond(BadParam(InvalidArgument("position: only with room")));
  }
  if (kind && *kind != "cooling") {
    return respond(BadParam(InvalidArgument(
        fmt::format("kind: only \"cooling\" (every cooling unit), got \"{}\"", *kind))));
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
  if (kind && !cooling) {
    return respond(BadParam(
        InvalidArgument("measurement: the cooling units' series is of a cooling field (e.g. "
                        "power_consumption_watts)")));
  }
  // The coarsest rollups the step allows: a week of hours reads 168 rows a series, not 10,080.
  const std::string_view source = cooling             ? "raw"
                                  : *step % 3600 == 0 ? "rollups_1h"
                                  : *step % 60 == 0   ? "rollups_1m"
                                                      : "raw";
  // The sensors a series reads (none for the cooling units: kind=cooling reads them all).
  const std::string devices =
      device  ? fmt::format("device_id = {}", SqlString(*device))
      : !room ? ""
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
          room = copy(room), position = copy(position), fleet = kind.has_value(),
          measurement = std::string(*measurement)](store::Connection& conn) {
           const std::string sensors =
               fmt::format("{} AND measurement_type = {}", devices, SqlString(measurement));
           SeriesQuery q;
           if (source == "rollups_1h") {
             Result<int64_t> covered = store::HourlyRollupsCoveredUntil(conn);
             if (!covered.ok()) return StoreFailed(covered.status());
             // The hours that start in [begin, end).
             constexpr int64_t kHour = 3'600'000'000;
             auto ceil_hour = [](int64_t t) { return (t + kHour - 1) / kHour * kHour; };
             q = {.relation =
                      store::HourlyRollupsSql(*covered, devices, ceil_hour(begin), ceil_hour(end)),
                  .time = "hour",
                  .aggregates = std::string(kOfRollups),
                  .filters = {sensors, TimeRange("hour", begin, end)}};
           } else if (source == "rollups_1m") {
             q = {.relation = "dcmon_rollups_1m",
                  .time = "minute",
                  .aggregates = std::string(kOfRollups),
                  .filters = {sensors, store::RollupMinutes(begin, end)}};
           } else if (fleet) {
             // Each unit's buckets first, as rollup rows: the fleet's total is the sum of each
             // unit's mean. The range applies to the readings, before bucketing.
             q = {.relation = fmt::format(
                      "(SELECT time_bucket(to_seconds({0}), event_time) AS bucket, count({1}) AS "
                      "count, min({1}) AS min, max({1}) AS max, sum({1}) AS sum, arg_max({1}, "
                      "event_time) AS last_value, max(event_time) AS last_time FROM "
                      "cooling_metrics WHERE {2} GROUP BY system_id, bucket HAVING count({1}) > 0)",
                      step, measurement, TimeRange("event_time", begin, end)),
                  .time = "bucket",
                  .aggregates = fmt::format("{}, sum(sum / count)", kOfRollups)};
           } else if (cooling) {
             q = {.relation = "cooling_metrics",
                  .time = "event_time",
                  .aggregates = OfValues(measurement),
                  .filters = {fmt::format("system_id = {}", SqlString(*device)),
                              TimeRange("event_time", begin, end)}};
           } else {
             q = {.relation = "sensor_readings",
                  .time = "event_time",
                  .aggregates = OfValues("value"),
                  .filters = {sensors, TimeRange("event_time", begin, end)}};
           }
           Result<store::QueryResult> r = conn.Query(SeriesSql(q, step));
           if (!r.ok()) return StoreFailed(r.status());
           std::string body;
           {
             JsonWriter w(body);
             w.BeginObject();
             if (device) {
               w.Key("device_id");
               w.String(*device);
             } else if (fleet) {
               w.Key("kind");
               w.String("cooling");
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
               if (fleet) {
                 w.Key("total");
                 w.Double(r->Double(6, i));
               }
               w.EndObject();
             }
             w.EndArray();
             w.EndObject();
           }
           return Json(std::move(body));
         });
}

}  // namespace dcmon::api
