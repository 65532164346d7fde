#include "store/duckdb.h"

#include <fmt/format.h>

#include <filesystem>

namespace dcmon::store {
namespace {

Status DuckError(std::string_view what, std::string_view message,
                 StatusCode code = StatusCode::kIoError) {
  return Status(code, fmt::format("duckdb {}: {}", what, message));
}

// A failed result as a Status of its error's class (CodeOf), "duckdb WHAT: CONTEXT<DuckDB's
// words>"; destroys the result.
Status FailedResult(std::string_view what, std::string_view context, duckdb_result& result) {
  const StatusCode code = CodeOf(duckdb_result_error_type(&result));
  const std::string message = code == StatusCode::kDeadlineExceeded
                                  ? "the query ran past its time limit and was interrupted"
                              : duckdb_result_error(&result) ? duckdb_result_error(&result)
                                                             : "unknown error";
  duckdb_destroy_result(&result);
  return DuckError(what, fmt::format("{}{}", context, message), code);
}

}  // namespace

// DuckDB's error class as the code callers branch on: a query interrupted at its timeout, a
// write-write conflict to retry, a query that is wrong, memory that ran out.
StatusCode CodeOf(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_INTERRUPT:
      return StatusCode::kDeadlineExceeded;
    case DUCKDB_ERROR_TRANSACTION:
      return StatusCode::kAborted;
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return StatusCode::kResourceExhausted;
    case DUCKDB_ERROR_PERMISSION:
      return StatusCode::kPermissionDenied;
    case DUCKDB_ERROR_IO:
      return StatusCode::kIoError;
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_FATAL:
      return StatusCode::kInternal;
    case DUCKDB_ERROR_CONNECTION:
    case DUCKDB_ERROR_NETWORK:
    case DUCKDB_ERROR_HTTP:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInvalidArgument;  // parser, binder, catalog, conversion, ...
  }
}

std::optional<std::string> QueryResult::Text(size_t col, size_t row) {
  if (IsNull(col, row)) return std::nullopt;
  char* v = duckdb_value_varchar(&result_, col, row);
  std::string out = v ? v : "";
  duckdb_free(v);
  return out;
}

Connection::~Connection() { duckdb_disconnect(&conn_); }

Status Connection::Execute(std::string_view sql) {
  Result<QueryResult> r = Query(sql);
  return r.ok() ? Status::Ok() : r.status();
}

Result<QueryResult> Connection::Query(std::string_view sql) {
  duckdb_result result;
  const std::string text(sql);
  if (duckdb_query(conn_, text.c_str(), &result) == DuckDBError)
    return FailedResult("query", "", result);
  return QueryResult(result);
}

Status DatabaseOptions::Validate() const {
  if (path.empty()) return InvalidArgument("store.path: expected a file, :memory: or md:DATABASE");
  if (threads < 1)
    return InvalidArgument(fmt::format("store.threads: expected at least 1, got {}", threads));
  return Status::Ok();
}

Result<DatabaseOptions> DatabaseOptionsFrom(const Config& c) {
  DatabaseOptions o;
  o.path = c.Get("store.path").value_or(o.path);
  o.memory_limit = c.Get("store.memory_limit").value_or(o.memory_limit);
  o.checkpoint_threshold = c.Get("store.checkpoint_threshold").value_or(o.checkpoint_threshold);
  Result<int64_t> threads = c.GetInt("store.threads", o.threads, 1, 256);
  if (!threads.ok()) return threads.status();
  o.threads = static_cast<int>(*threads);
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  if (Status s = options.Validate(); !s.ok()) return s;
  std::unique_ptr<Database> db(new Database());
  db->options_ = options;
  const bool file = options.path != ":memory:" && !options.path.starts_with("md:");
  if (file) {
    const std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
      return DuckError("open", fmt::format("{}: cannot create {}: {}", options.path,
                                           parent.string(), ec.message()));
  }
  duckdb_config config;
  if (duckdb_create_config(&config) == DuckDBError)
    return DuckError("open", "cannot create a configuration");
  const std::string threads = std::to_string(options.threads);
  bool ok =
      duckdb_set_config(config, "memory_limit", options.memory_limit.c_str()) == DuckDBSuccess &&
      duckdb_set_config(config, "threads", threads.c_str()) == DuckDBSuccess &&
      duckdb_set_config(config, "checkpoint_threshold", options.checkpoint_threshold.c_str()) ==
          DuckDBSuccess;
  // A file is attached (below), so that its row groups can be sized; the database DuckDB opens
  // is then in memory, which cannot be read-only: the file is attached read-only instead.
  if (ok && options.read_only && !file)
    ok = duckdb_set_config(config, "access_mode", "READ_ONLY") == DuckDBSuccess;
  if (!ok) {
    duckdb_destroy_config(&config);
    return InvalidArgument(
        fmt::format("store: invalid memory_limit \"{}\", threads {} or checkpoint_threshold \"{}\"",
                    options.memory_limit, options.threads, options.checkpoint_threshold));
  }
  char* error = nullptr;
  const duckdb_state state =
      duckdb_open_ext(file ? nullptr : options.path.c_str(), &db->db_, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    const std::string message = error ? error : "unknown error";
    duckdb_free(error);
    return DuckError("open", fmt::format("{}: {}", options.path, message));
  }
  if (file) {
    // Row groups of half a loader batch (kRowGroupRows): a backlog batch fills one and nearly a
    // second, which DuckDB writes compressed as they fill and merges at commit. With DuckDB's own
    // row group (122,880 rows, a whole batch) a batch stayed below one, and DuckDB appended its
    // rows a second time at commit, logged them and kept them uncompressed until the next
    // checkpoint (scratch runs: records/s x1.2, CPU per record x0.87, docs/benchmarks.md). The
    // catalog keeps the name DuckDB gives a file it opens (its stem), unless that is one of its
    // own.
    std::string name = std::filesystem::path(options.path).stem().string();
    if (name.empty() || name == "memory" || name == "system" || name == "temp") name = "store";
    db->catalog_ = name;
    Result<std::unique_ptr<Connection>> conn = db->Connect(/*use_catalog=*/false);
    if (!conn.ok()) return conn.status();
    const std::string attach =
        fmt::format("ATTACH {} AS {} (ROW_GROUP_SIZE {}{})", SqlString(options.path),
                    SqlIdentifier(name), kRowGroupRows, options.read_only ? ", READ_ONLY" : "");
    // DuckDB's own words, as when it opened the file itself: "duckdb open: PATH: IO Error: ...".
    duckdb_result result;
    if (duckdb_query((*conn)->raw(), attach.c_str(), &result) == DuckDBError)
      return FailedResult("open", options.path + ": ", result);
    duckdb_destroy_result(&result);
  }
  return db;
}

Database::~Database() {
  if (db_) duckdb_close(&db_);
}

Result<std::unique_ptr<Connection>> Database::Connect() { return Connect(/*use_catalog=*/true); }

Result<std::unique_ptr<Connection>> Database::Connect(bool use_catalog) {
  duckdb_connection c;
  if (duckdb_connect(db_, &c) == DuckDBError) return DuckError("connect", options_.path);
  std::unique_ptr<Connection> conn(new Connection(c));
  // Times are UTC everywhere in dcmon: minute buckets and printed timestamps must not follow the
  // host's zone.
  if (Status s = conn->Execute("SET TimeZone = 'UTC'"); !s.ok()) return s;
  if (use_catalog && !catalog_.empty()) {
    if (Status s = conn->Execute("USE " + SqlIdentifier(catalog_)); !s.ok()) return s;
  }
  return conn;
}

namespace {

std::string Quote(std::string_view s, char quote) {
  std::string out(1, quote);
  for (char c : s) {
    out.push_back(c);
    if (c == quote) out.push_back(quote);
  }
  out.push_back(quote);
  return out;
}

}  // namespace

std::string SqlString(std::string_view s) { return Quote(s, '\''); }

std::string SqlIdentifier(std::string_view s) { return Quote(s, '"'); }

std::string SqlTimestamp(int64_t micros) {
  return fmt::format("(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds({}))", micros);
}

}  // namespace dcmon::store
