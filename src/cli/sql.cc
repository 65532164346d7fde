#include "cli/sql.h"

#include <fmt/format.h>

#include <cstdio>
#include <vector>

#include "core/json_writer.h"
#include "store/duckdb.h"

namespace dcmon::cli {
namespace {

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  return out + "\"";
}

bool IsNumeric(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_HUGEINT:
      return true;
    default:
      return false;
  }
}

std::string Csv(const std::optional<std::string>& v) {
  if (!v) return "";
  if (v->find_first_of(",\"\n\r") == std::string::npos) return *v;
  std::string out = "\"";
  for (char c : *v) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  return out + "\"";
}

}  // namespace

CLI::App* AddSql(CLI::App& app, SqlFlags& f) {
  CLI::App* cmd = app.add_subcommand("sql", "Run one read-only SQL query against a store file");
  cmd->add_option("--store", f.store, "DuckDB file (opened read-only)")->capture_default_str();
  cmd->add_option("--format", f.format, "table, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
  cmd->add_option("query", f.query, "SELECT ... (one statement)")->required();
  return cmd;
}

int RunSql(const SqlFlags& f) {
  auto fail = [](int code, std::string_view message) {
    std::fprintf(stderr, "dcmon sql: %.*s\n", static_cast<int>(message.size()), message.data());
    return code;
  };
  Result<std::unique_ptr<store::Database>> db = store::Database::Open(
      {.path = f.store, .memory_limit = "512MB", .threads = 2, .read_only = true});
  if (!db.ok())
    return fail(1, db.status().message() + " (a running dcmon serve holds the file: use --server)");
  Result<std::unique_ptr<store::Connection>> conn = (*db)->Connect();
  if (!conn.ok()) return fail(1, conn.status().message());
  // As a subquery, the text must be one query; every column comes back as text, whatever its type.
  const std::string inner = "(" + f.query + "\n) AS q";
  Result<store::QueryResult> shape = (*conn)->Query("SELECT * FROM " + inner + " LIMIT 0");
  if (!shape.ok()) return fail(2, shape.status().message());
  std::vector<std::string> names;
  std::vector<bool> numeric;
  std::string casts;
  for (size_t c = 0; c < shape->columns(); ++c) {
    names.push_back(shape->ColumnName(c));
    numeric.push_back(IsNumeric(duckdb_column_type(shape->raw(), c)));
    casts += fmt::format("{}CAST(q.{} AS VARCHAR)", c ? ", " : "", QuoteIdentifier(names.back()));
  }
  Result<store::QueryResult> r = (*conn)->Query("SELECT " + casts + " FROM " + inner);
  if (!r.ok()) return fail(2, r.status().message());
  const size_t rows = r->rows();
  std::string out;
  if (f.format == "json") {
    {
      JsonWriter w(out);
      w.BeginObject();
      w.Key("columns");
      w.BeginArray();
      for (const auto& n : names) w.String(n);
      w.EndArray();
      w.Key("rows");
      w.BeginArray();
      for (size_t i = 0; i < rows; ++i) {
        w.BeginArray();
        for (size_t c = 0; c < names.size(); ++c) {
          const std::optional<std::string> v = r->Text(c, i);
          if (!v) {
            w.Null();
          } else if (numeric[c]) {
            w.Double(std::stod(*v));
          } else {
            w.String(*v);
          }
        }
        w.EndArray();
      }
      w.EndArray();
      w.EndObject();
    }
    out += '\n';
  } else if (f.format == "csv") {
    for (size_t c = 0; c < names.size(); ++c) out += (c ? "," : "") + Csv(names[c]);
    out += '\n';
    for (size_t i = 0; i < rows; ++i) {
      for (size_t c = 0; c < names.size(); ++c) out += (c ? "," : "") + Csv(r->Text(c, i));
      out += '\n';
    }
  } else {
    std::vector<size_t> width(names.size());
    for (size_t c = 0; c < names.size(); ++c) {
      width[c] = names[c].size();
      for (size_t i = 0; i < rows; ++i)
        width[c] = std::max(width[c], r->Text(c, i).value_or("NULL").size());
    }
    auto line = [&](auto value) {
      for (size_t c = 0; c < names.size(); ++c)
        out += fmt::format("{}{:<{}}", c ? "  " : "", value(c), width[c]);
      out += '\n';
    };
    line([&](size_t c) { return names[c]; });
    line([&](size_t c) { return std::string(width[c], '-'); });
    for (size_t i = 0; i < rows; ++i)
      line([&](size_t c) { return r->Text(c, i).value_or("NULL"); });
    out += fmt::format("({} row{})\n", rows, rows == 1 ? "" : "s");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace dcmon::cli
