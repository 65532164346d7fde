// Analysts' read-only SQL, shared by `dcmon sql` and POST /api/v1/query: exactly one statement, and
// it must be a query (SELECT, WITH … SELECT, VALUES, FROM …); anything else (SET, ATTACH, COPY,
// PRAGMA, INSTALL, several statements) is refused with the reason before it runs. Every value comes
// back as text, with each column's kind so writers can emit JSON numbers; at most `row_cap` rows,
// `truncated` set when there were more. Not a sandbox by itself: the API also disables DuckDB's
// external access (files, network) for the whole database.
//
//   Result<TextTable> t = RunReadOnlyQuery(conn, "SELECT device_id, value FROM sensor_readings",
//   1000); std::string json = TableToJson(*t);   //
//   {"columns":[...],"rows":[[...],...],"truncated":false}
//
// RowCursor reads a result row by row straight from DuckDB's data chunks, for the API's bulk reads;
// StreamQuery gives it a result whose rows are produced as it reads them:
//
//   Result<QueryResult> r = StreamQuery(conn, "SELECT ingest_seq, device_id FROM sensor_readings");
//   Result<RowCursor> rows = RowCursor::Open(*r, {DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_VARCHAR});
//   while (rows->Next()) use(rows->Int64(0), rows->Text(1));
//   if (!rows->status().ok()) ...   // a streamed query can fail while it runs
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

struct TextTable {
  enum class Kind { kText, kInteger, kFloat, kBoolean };
  std::vector<std::string> columns;
  std::vector<Kind> kinds;
  std::vector<std::vector<std::optional<std::string>>> rows;
  bool truncated = false;
};

// Walks a query result one row at a time, reading values in place from each data chunk's vectors
// instead of converting cell by cell (duckdb_value_*). The accessors take the column's declared
// type (checked by Open) and are valid until the next Next(). Moves with its QueryResult; one
// thread.
class RowCursor {
 public:
  // Fails, naming the column, unless the result has exactly `types` as its column types.
  static Result<RowCursor> Open(QueryResult& result, std::initializer_list<duckdb_type> types);
  RowCursor(RowCursor&& other) noexcept;
  RowCursor& operator=(RowCursor&&) = delete;
  RowCursor(const RowCursor&) = delete;
  ~RowCursor();

  // Moves to the next row (the first, on the first call); false after the last, or when a streamed
  // query failed (status() says).
  bool Next();
  // After Next() returned false: whether the rows ended or the query failed.
  Status status() const;
  bool IsNull(size_t col) const {
    const uint64_t* v = validity_[col];
    return v && !(v[row_ / 64] >> (row_ % 64) & 1);
  }
  // A BIGINT column, or a TIMESTAMP_TZ one as UTC microseconds (DuckDB stores it so).
  int64_t Int64(size_t col) const { return static_cast<const int64_t*>(data_[col])[row_]; }
  int32_t Int32(size_t col) const { return static_cast<const int32_t*>(data_[col])[row_]; }
  double Double(size_t col) const { return static_cast<const double*>(data_[col])[row_]; }
  // A VARCHAR column; "" for NULL.
  std::string_view Text(size_t col) const;

 private:
  explicit RowCursor(QueryResult& result, size_t columns);
  duckdb_result* result_;
  duckdb_data_chunk chunk_ = nullptr;
  size_t size_ = 0;  // rows in chunk_
  size_t row_ = 0;   // the current row in chunk_; size_ before the first Next()
  std::vector<const void*> data_;
  std::vector<const uint64_t*> validity_;
};

// Runs `sql` without materialising its result: DuckDB produces the rows while they are fetched
// (RowCursor), so a page is scanned and written in one pass instead of copied into a result first.
// The connection must run nothing else until the result is destroyed (that would end the stream).
Result<QueryResult> StreamQuery(Connection& conn, std::string_view sql);

Result<TextTable> RunReadOnlyQuery(Connection& conn, std::string_view sql, size_t row_cap);
std::string TableToJson(const TextTable& table);

}  // namespace dcmon::store
