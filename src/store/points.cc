#include "store/points.h"

#include <fmt/format.h>

namespace dcmon::store {
namespace {

// Owns one duckdb_value.
struct Value {
  duckdb_value v;
  explicit Value(duckdb_value x) : v(x) {}
  ~Value() { duckdb_destroy_value(&v); }
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
};

}  // namespace

Status AppendPoints(Connection& conn, const std::vector<Point>& points, int64_t ingest_micros) {
  if (points.empty()) return Status::Ok();
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create(conn.raw(), nullptr, "metrics", &appender) == DuckDBError) {
    const std::string message = duckdb_appender_error(appender);
    duckdb_appender_destroy(&appender);
    return IoError("duckdb appender for metrics: " + message);
  }
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_logical_type map_type = duckdb_create_map_type(varchar, varchar);
  Status status = conn.Execute("BEGIN TRANSACTION");
  std::vector<duckdb_value> keys, values;
  for (const Point& p : points) {
    if (!status.ok()) break;
    keys.clear();
    values.clear();
    for (const auto& [k, v] : p.tags) {
      keys.push_back(duckdb_create_varchar_length(k.data(), k.size()));
      values.push_back(duckdb_create_varchar_length(v.data(), v.size()));
    }
    // DuckDB wants non-null arrays even for an empty map (a point without tags).
    duckdb_value none = nullptr;
    Value tags(duckdb_create_map_value(map_type, keys.empty() ? &none : keys.data(),
                                       values.empty() ? &none : values.data(), keys.size()));
    for (duckdb_value& v : keys) duckdb_destroy_value(&v);
    for (duckdb_value& v : values) duckdb_destroy_value(&v);
    if (!tags.v) {
      status = InvalidArgument(fmt::format("metrics: the tags of \"{}\" make no map", p.measurement));
      break;
    }
    for (const Field& f : p.fields) {
      bool ok = duckdb_append_timestamp(appender, duckdb_timestamp{p.time_micros}) == DuckDBSuccess;
      ok = ok && duckdb_append_varchar_length(appender, p.measurement.data(),
                                              p.measurement.size()) == DuckDBSuccess;
      ok = ok && duckdb_append_value(appender, tags.v) == DuckDBSuccess;
      ok =
          ok && duckdb_append_varchar_length(appender, f.key.data(), f.key.size()) == DuckDBSuccess;
      if (f.type == Field::kString) {
        ok = ok && duckdb_append_null(appender) == DuckDBSuccess;
        ok = ok &&
             duckdb_append_varchar_length(appender, f.text.data(), f.text.size()) == DuckDBSuccess;
      } else {
        ok = ok && duckdb_append_double(appender, f.number) == DuckDBSuccess;
        ok = ok && duckdb_append_null(appender) == DuckDBSuccess;
      }
      ok =
          ok && duckdb_append_timestamp(appender, duckdb_timestamp{ingest_micros}) == DuckDBSuccess;
      ok = ok && duckdb_appender_end_row(appender) == DuckDBSuccess;
      if (!ok) {
        status =
            IoError(fmt::format("duckdb append to metrics: {}", duckdb_appender_error(appender)));
        break;
      }
    }
  }
  if (status.ok() && duckdb_appender_flush(appender) == DuckDBError)
    status = IoError(fmt::format("duckdb append to metrics: {}", duckdb_appender_error(appender)));
  duckdb_appender_destroy(&appender);
  if (status.ok()) status = conn.Execute("COMMIT");
  if (!status.ok()) (void)conn.Execute("ROLLBACK");
  duckdb_destroy_logical_type(&map_type);
  duckdb_destroy_logical_type(&varchar);
  return status;
}

}  // namespace dcmon::store
