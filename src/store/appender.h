// The one way dcmon appends rows to a DuckDB table: an RAII appender that fills data chunks column
// by column (vectors written directly, the bulk path DuckDB recommends) and hands each full chunk
// to the table. The column types come from the table itself, so no writer lists them a second
// time. Not thread-safe: one thread, on the connection it was opened with.
//
//   Result<std::unique_ptr<Appender>> a = Appender::Open(conn, "rejects");
//   (*a)->NextRow();  (*a)->Value(0, duckdb_timestamp{t});  (*a)->String(1, "kafka");  ...
//   Status s = (*a)->Flush();  // appended within the connection's open transaction
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

class Appender {
 public:
  // `catalog` is the attached database ("temp" for TEMP tables; empty: the connection's default).
  static Result<std::unique_ptr<Appender>> Open(Connection& conn, const std::string& table,
                                                const std::string& catalog = "");
  ~Appender();
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  // Starts a row; appends the full chunk first when needed.
  Status NextRow() {
    if (row_ + 1 == capacity_) {
      if (Status s = AppendChunk(); !s.ok()) return s;
    }
    ++row_;
    return Status::Ok();
  }
  void String(size_t col, std::string_view v) {
    duckdb_vector_assign_string_element_len(vectors_[col], row_, v.data(), v.size());
  }
  // An empty string is NULL (records use "" for an absent optional field).
  void OptionalString(size_t col, std::string_view v) {
    if (v.empty()) {
      Null(col);
    } else {
      String(col, v);
    }
  }
  template <typename T>
  void Value(size_t col, T v) {
    static_cast<T*>(data_[col])[row_] = v;
  }
  template <typename T>
  void Optional(size_t col, const std::optional<T>& v) {
    if (v) {
      Value(col, *v);
    } else {
      Null(col);
    }
  }
  // A MAP(VARCHAR, VARCHAR): the pairs go straight into the map's key and value vectors (a
  // duckdb_value per map cost more than the rest of a batch).
  void StringMap(size_t col, const std::vector<std::pair<std::string, std::string>>& entries);
  void Null(size_t col) {
    duckdb_vector_ensure_validity_writable(vectors_[col]);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vectors_[col]), row_);
  }
  // Appends the buffered rows and flushes them into the table (within the open transaction).
  Status Flush();

 private:
  Appender() = default;
  Status AppendChunk();
  void BindVectors();
  Status Error(std::string_view what) const;

  std::string table_;
  duckdb_appender appender_ = nullptr;
  std::vector<duckdb_logical_type> types_;
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<duckdb_vector> vectors_;  // of chunk_, per column
  std::vector<void*> data_;             // their data, per column
  std::vector<idx_t> list_sizes_;       // entries in each list (MAP) column's child this chunk
  int64_t row_ = -1;
  int64_t capacity_ = 0;
};

}  // namespace dcmon::store
