#include "cli/sql.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "api/client.h"
#include "cli/exit.h"
#include "core/json_writer.h"
#include "store/duckdb.h"
#include "store/query.h"

namespace dcmon::cli {
namespace {

using store::TextTable;

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

std::string Render(const TextTable& t, const std::string& format) {
  if (format == "json") return store::TableToJson(t) + "\n";
  std::string out;
  const std::vector<std::string>& names = t.columns;
  if (format == "csv") {
    for (size_t c = 0; c < names.size(); ++c) out += (c ? "," : "") + Csv(names[c]);
    out += '\n';
    for (const auto& row : t.rows) {
      for (size_t c = 0; c < names.size(); ++c) out += (c ? "," : "") + Csv(row[c]);
      out += '\n';
    }
    return out;
  }
  std::vector<size_t> width(names.size());
  for (size_t c = 0; c < names.size(); ++c) {
    width[c] = names[c].size();
    for (const auto& row : t.rows) width[c] = std::max(width[c], row[c].value_or("NULL").size());
  }
  auto line = [&](auto value) {
    for (size_t c = 0; c < names.size(); ++c)
      out += fmt::format("{}{:<{}}", c ? "  " : "", value(c), width[c]);
    out += '\n';
  };
  line([&](size_t c) { return names[c]; });
  line([&](size_t c) { return std::string(width[c], '-'); });
  for (const auto& row : t.rows) line([&](size_t c) { return row[c].value_or("NULL"); });
  out += fmt::format("({} row{})\n", t.rows.size(), t.rows.size() == 1 ? "" : "s");
  return out;
}

// The query endpoint's {"columns": [...], "rows": [[...]], "truncated": bool} back into a table.
Result<TextTable> FromJson(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc)) return InvalidArgument("server: the answer is not JSON");
  TextTable t;
  simdjson::dom::array columns, rows;
  if (doc["columns"].get(columns) || doc["rows"].get(rows))
    return InvalidArgument("server: the answer has no columns and rows");
  for (auto c : columns) t.columns.emplace_back(std::string_view(c.get_string().value_unsafe()));
  t.kinds.assign(t.columns.size(), TextTable::Kind::kText);
  for (auto row : rows) {
    auto& out = t.rows.emplace_back();
    size_t c = 0;
    for (auto v : row.get_array()) {
      if (v.is_null()) {
        out.emplace_back();
      } else if (v.is_string()) {
        out.emplace_back(std::string(v.get_string().value_unsafe()));
      } else {
        if (c < t.kinds.size()) {
          t.kinds[c] = v.is_bool()    ? TextTable::Kind::kBoolean
                       : v.is_int64() ? TextTable::Kind::kInteger
                                      : TextTable::Kind::kFloat;
        }
        out.emplace_back(simdjson::minify(v));
      }
      ++c;
    }
  }
  bool truncated = false;
  if (!doc["truncated"].get(truncated)) t.truncated = truncated;
  return t;
}

}  // namespace

CLI::App* AddSql(CLI::App& app, SqlFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "sql", "Run one read-only SQL query against a store file or a running server");
  cmd->add_option("--config", f.config, "TOML configuration (the store.* keys serve reads)");
  cmd->add_option("--store", f.store, "DuckDB file, opened read-only (store.path)");
  cmd->add_option("--server", f.server,
                  "URL of a running dcmon serve/run (http://HOST:PORT); token from DCMON_TOKEN")
      ->excludes(cmd->get_option("--store"));
  cmd->add_option("--format", f.format, "table, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
  cmd->add_option("--max-rows", f.max_rows, "Rows printed at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  cmd->add_option("query", f.query, "SELECT ... (one statement)")->required();
  return cmd;
}

int RunSql(const SqlFlags& f) {
  Result<TextTable> table = InvalidArgument("no query ran");
  if (!f.server.empty()) {
    std::string body;
    {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("sql");
      w.String(f.query);
      w.EndObject();
    }
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}};
    if (const char* token = std::getenv("DCMON_TOKEN"))
      headers.emplace_back("Authorization", fmt::format("Bearer {}", token));
    std::string url = f.server;
    while (url.ends_with('/')) url.pop_back();
    Result<api::HttpResponse> r = api::HttpCall("POST", url + "/api/v1/query", headers, body);
    if (!r.ok()) return Fail("sql", r.status());
    if (r->status != 200) {
      simdjson::dom::parser parser;
      std::string_view detail;
      if (parser.parse(r->body)["detail"].get(detail)) detail = r->body;
      return Fail("sql", r->status == 400 ? 2 : 1,
                  fmt::format("server answered {}: {}", r->status, detail));
    }
    table = FromJson(r->body);
    if (!table.ok()) return Fail("sql", table.status());
  } else {
    Result<Config> config = f.config.empty() ? Result<Config>(Config()) : Config::Load(f.config);
    if (!config.ok()) return Fail("sql", config.status());
    if (!f.store.empty()) config->SetFlag("store.path", f.store);
    Result<store::DatabaseOptions> options = store::DatabaseOptionsFrom(*config);
    if (!options.ok()) return Fail("sql", options.status());
    options->read_only = true;
    Result<std::unique_ptr<store::Database>> db = store::Database::Open(*options);
    if (!db.ok()) {
      return Fail(
          "sql", 1,
          db.status().message() + " (while dcmon serve or run holds the file, use --server URL)");
    }
    Result<std::unique_ptr<store::Connection>> conn = (*db)->Connect();
    if (!conn.ok()) return Fail("sql", conn.status());
    table = store::RunReadOnlyQuery(**conn, f.query, f.max_rows);
    if (!table.ok()) return Fail("sql", table.status());
  }
  if (table->rows.size() > f.max_rows) table->rows.resize(f.max_rows);
  const std::string out = Render(*table, f.format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (table->truncated)
    std::fprintf(stderr, "dcmon sql: more rows than shown (--max-rows %zu)\n", f.max_rows);
  return 0;
}

}  // namespace dcmon::cli
