// A thin RAII layer over DuckDB's C API: database, connection, query result. Every failure comes
// back as a Status carrying DuckDB's own message. A Database is thread-safe; a Connection is used
// by one thread at a time (DuckDB locks it while a query runs), so give each thread its own.
//
//   auto db = Database::Open({.path = "data/dcmon.duckdb", .memory_limit = "1GB", .threads = 2});
//   auto conn = (*db)->Connect();
//   Status s = conn->Execute("CREATE TABLE t (x BIGINT)");
//   Result<QueryResult> r = conn->Query("SELECT count(*) FROM t");
//   int64_t n = r->Int64(0, 0);
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace dcmon::store {

struct DatabaseOptions {
  std::string path = "data/dcmon.duckdb";  // a file, ":memory:", or "md:<database>" (MotherDuck)
  std::string memory_limit = "1GB";        // DuckDB's own default is 80 % of RAM: never leave it
  int threads = 2;
  // The write-ahead log size that triggers a checkpoint. The rows of the log stay in memory
  // uncompressed until the checkpoint. A backlog's sensor rows no longer go through it (a file's
  // row groups are half a batch, Database::Open); what does (rollups, cooling rows, offsets) cost
  // a backlog's peak RSS 404 MB at 32MB against 358 at 16MB, for records/s x1.05 (scratch runs,
  // docs/benchmarks.md). A larger log also costs replay time at the next open after a crash.
  std::string checkpoint_threshold = "16MB";
  bool read_only = false;
  Status Validate() const;
};
// [store] path, memory_limit, threads, checkpoint_threshold (docs/configuration.md).
Result<DatabaseOptions> DatabaseOptionsFrom(const Config& config);

class QueryResult {
 public:
  explicit QueryResult(duckdb_result r) : result_(r) {}
  QueryResult(QueryResult&& other) noexcept : result_(other.result_), owned_(other.owned_) {
    other.owned_ = false;
  }
  QueryResult& operator=(QueryResult&& other) noexcept {
    if (this != &other) {
      if (owned_) duckdb_destroy_result(&result_);
      result_ = other.result_;
      owned_ = other.owned_;
      other.owned_ = false;
    }
    return *this;
  }
  QueryResult(const QueryResult&) = delete;
  ~QueryResult() {
    if (owned_) duckdb_destroy_result(&result_);
  }

  size_t rows() { return duckdb_row_count(&result_); }
  size_t columns() { return duckdb_column_count(&result_); }
  std::string ColumnName(size_t col) { return duckdb_column_name(&result_, col); }
  bool IsNull(size_t col, size_t row) { return duckdb_value_is_null(&result_, col, row); }
  int64_t Int64(size_t col, size_t row) { return duckdb_value_int64(&result_, col, row); }
  double Double(size_t col, size_t row) { return duckdb_value_double(&result_, col, row); }
  // The value as text (NULL as nullopt), for the types DuckDB's value API converts; cast others
  // (TIMESTAMPTZ) to VARCHAR in the query.
  std::optional<std::string> Text(size_t col, size_t row);
  duckdb_result* raw() { return &result_; }

 private:
  duckdb_result result_;
  bool owned_ = true;
};

class Connection {
 public:
  ~Connection();
  Status Execute(std::string_view sql);
  Result<QueryResult> Query(std::string_view sql);
  duckdb_connection raw() const { return conn_; }

 private:
  friend class Database;
  explicit Connection(duckdb_connection c) : conn_(c) {}
  duckdb_connection conn_;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);
  ~Database();
  Result<std::unique_ptr<Connection>> Connect();
  const DatabaseOptions& options() const { return options_; }
  // The rows of a row group in a file's tables (DuckDB's default is 122,880): half the loader's
  // default batch (ingest/loader.h).
  static constexpr int kRowGroupRows = 61440;

 private:
  Database() = default;
  Result<std::unique_ptr<Connection>> Connect(bool use_catalog);
  duckdb_database db_ = nullptr;
  DatabaseOptions options_;
  std::string catalog_;  // the attached file's catalog, which every connection uses; "" for none
};

// DuckDB's error class as the code callers branch on: a query interrupted at its timeout, a
// write-write conflict to retry, a query that is wrong, memory that ran out.
StatusCode CodeOf(duckdb_error_type type);

// Quotes an SQL string literal ('it''s').
std::string SqlString(std::string_view s);
// Quotes an SQL identifier ("my ""db""").
std::string SqlIdentifier(std::string_view s);
// A TIMESTAMPTZ literal for UTC microseconds since the epoch.
std::string SqlTimestamp(int64_t micros);

}  // namespace dcmon::store
