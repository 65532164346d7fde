#include "store/query.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include "core/json_writer.h"

namespace dcmon::store {
namespace {

TextTable::Kind KindOf(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return TextTable::Kind::kInteger;
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      return TextTable::Kind::kFloat;
    case DUCKDB_TYPE_BOOLEAN:
      return TextTable::Kind::kBoolean;
    default:
      return TextTable::Kind::kText;
  }
}

// Checks that `sql` is one query statement; DuckDB's own parser decides, not a keyword list.
Status CheckReadOnly(Connection& conn, const std::string& sql) {
  duckdb_extracted_statements extracted = nullptr;
  const idx_t n = duckdb_extract_statements(conn.raw(), sql.c_str(), &extracted);
  Status s;
  if (n == 0) {
    const char* error = duckdb_extract_statements_error(extracted);
    s = InvalidArgument(error && *error ? error : "no SQL statement");
  } else if (n > 1) {
    s = InvalidArgument(fmt::format("{} statements: send exactly one query", n));
  } else {
    duckdb_prepared_statement prepared = nullptr;
    if (duckdb_prepare_extracted_statement(conn.raw(), extracted, 0, &prepared) == DuckDBError) {
      s = InvalidArgument(duckdb_prepare_error(prepared));
    } else if (duckdb_prepared_statement_type(prepared) != DUCKDB_STATEMENT_TYPE_SELECT) {
      s = InvalidArgument(
          "only queries are allowed (SELECT, WITH ... SELECT); this statement would change or "
          "configure something");
    }
    duckdb_destroy_prepare(&prepared);
  }
  duckdb_destroy_extracted(&extracted);
  return s;
}

std::string_view TypeName(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMPTZ";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    default:
      return "another type";
  }
}

}  // namespace

Result<RowCursor> RowCursor::Open(QueryResult& result, std::initializer_list<duckdb_type> types) {
  if (result.columns() != types.size()) {
    return Internal(
        fmt::format("query returned {} columns, expected {}", result.columns(), types.size()));
  }
  size_t c = 0;
  for (duckdb_type want : types) {
    const duckdb_type got = duckdb_column_type(result.raw(), c);
    if (got != want) {
      return Internal(fmt::format("column {}: expected {}, got {}", result.ColumnName(c),
                                  TypeName(want), TypeName(got)));
    }
    ++c;
  }
  return RowCursor(result, types.size());
}

RowCursor::RowCursor(QueryResult& result, size_t columns)
    : result_(result.raw()), data_(columns), validity_(columns) {}

RowCursor::RowCursor(RowCursor&& other) noexcept
    : result_(other.result_),
      chunk_(std::exchange(other.chunk_, nullptr)),
      size_(other.size_),
      row_(other.row_),
      data_(std::move(other.data_)),
      validity_(std::move(other.validity_)) {}

RowCursor::~RowCursor() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
}

bool RowCursor::Next() {
  if (chunk_ && ++row_ < size_) return true;
  do {
    if (chunk_) duckdb_destroy_data_chunk(&chunk_);
    chunk_ = duckdb_fetch_chunk(*result_);
    if (!chunk_) return false;
    size_ = duckdb_data_chunk_get_size(chunk_);
  } while (size_ == 0);
  row_ = 0;
  for (size_t c = 0; c < data_.size(); ++c) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk_, c);
    data_[c] = duckdb_vector_get_data(v);
    validity_[c] = duckdb_vector_get_validity(v);
  }
  return true;
}

Status RowCursor::status() const {
  const char* error = duckdb_result_error(result_);
  if (!error) return Status::Ok();
  return Status(CodeOf(duckdb_result_error_type(result_)), fmt::format("duckdb query: {}", error));
}

std::string_view RowCursor::Text(size_t col) const {
  if (IsNull(col)) return {};
  const auto& s = static_cast<const duckdb_string_t*>(data_[col])[row_];
  // duckdb.h's layout: up to 12 bytes inline, longer strings behind a pointer.
  const uint32_t n = s.value.inlined.length;
  return {n <= 12 ? s.value.inlined.inlined : s.value.pointer.ptr, n};
}

Result<QueryResult> StreamQuery(Connection& conn, std::string_view sql) {
  const std::string text(sql);
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(conn.raw(), text.c_str(), &prepared) == DuckDBError) {
    Status s = InvalidArgument(fmt::format("duckdb query: {}", duckdb_prepare_error(prepared)));
    duckdb_destroy_prepare(&prepared);
    return s;
  }
  duckdb_pending_result pending = nullptr;
  duckdb_result result;
  Status s;
  if (duckdb_pending_prepared_streaming(prepared, &pending) == DuckDBError) {
    s = Internal(fmt::format("duckdb query: {}", duckdb_pending_error(pending)));
  } else if (duckdb_execute_pending(pending, &result) == DuckDBError) {
    s = Status(CodeOf(duckdb_result_error_type(&result)),
               fmt::format("duckdb query: {}", duckdb_result_error(&result)));
    duckdb_destroy_result(&result);
  }
  duckdb_destroy_pending(&pending);
  duckdb_destroy_prepare(&prepared);
  if (!s.ok()) return s;
  return QueryResult(result);
}

Result<TextTable> RunReadOnlyQuery(Connection& conn, std::string_view query, size_t row_cap) {
  // A trailing ';' is fine for one statement but not inside the subquery below.
  while (!query.empty() &&
         (std::isspace(static_cast<unsigned char>(query.back())) || query.back() == ';'))
    query.remove_suffix(1);
  const std::string sql(query);
  if (Status s = CheckReadOnly(conn, sql); !s.ok()) return s;
  // As a subquery the text must stay one query; every column comes back as text, whatever its type.
  const std::string inner = "(" + sql + "\n) AS q";
  Result<QueryResult> shape = conn.Query("SELECT * FROM " + inner + " LIMIT 0");
  if (!shape.ok()) return shape.status();
  TextTable t;
  std::string casts;
  for (size_t c = 0; c < shape->columns(); ++c) {
    t.columns.push_back(shape->ColumnName(c));
    t.kinds.push_back(KindOf(duckdb_column_type(shape->raw(), c)));
    casts += fmt::format("{}CAST(q.{} AS VARCHAR)", c ? ", " : "", SqlIdentifier(t.columns.back()));
  }
  Result<QueryResult> r =
      conn.Query(fmt::format("SELECT {} FROM {} LIMIT {}", casts, inner, row_cap + 1));
  if (!r.ok()) return r.status();
  const size_t rows = std::min(r->rows(), row_cap);
  t.truncated = r->rows() > row_cap;
  t.rows.resize(rows);
  for (size_t i = 0; i < rows; ++i) {
    t.rows[i].reserve(t.columns.size());
    for (size_t c = 0; c < t.columns.size(); ++c) t.rows[i].push_back(r->Text(c, i));
  }
  return t;
}

std::string TableToJson(const TextTable& t) {
  std::string out;
  {  // the writer finishes the string when it goes out of scope
    JsonWriter w(out);
    w.BeginObject();
    w.Key("columns");
    w.BeginArray();
    for (const auto& n : t.columns) w.String(n);
    w.EndArray();
    w.Key("rows");
    w.BeginArray();
    for (const auto& row : t.rows) {
      w.BeginArray();
      for (size_t c = 0; c < row.size(); ++c) {
        const std::optional<std::string>& v = row[c];
        int64_t i = 0;
        if (!v) {
          w.Null();
        } else if (t.kinds[c] == TextTable::Kind::kBoolean) {
          w.Bool(*v == "true");
        } else if (t.kinds[c] == TextTable::Kind::kInteger &&
                   std::from_chars(v->data(), v->data() + v->size(), i).ec == std::errc()) {
          w.Int(i);
        } else if (t.kinds[c] == TextTable::Kind::kFloat) {
          const double d = std::strtod(v->c_str(), nullptr);
          if (std::isfinite(d)) {
            w.Double(d);
          } else {
            w.Null();
          }
        } else {
          w.String(*v);  // text, and integers beyond 64 bits (exact as a string)
        }
      }
      w.EndArray();
    }
    w.EndArray();
    w.Key("truncated");
    w.Bool(t.truncated);
    w.EndObject();
  }
  return out;
}

}  // namespace dcmon::store
