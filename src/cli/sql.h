// `dcmon sql`: run one read-only query against a store file, or through a running server's query
// endpoint (DuckDB allows one writer process per file, so while serve holds the file, ask it), and
// print the result as a table, CSV or JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dcmon::cli {

struct SqlFlags {
  std::string config;  // --config FILE: the same TOML serve reads ([store] path, memory_limit)
  std::string store;   // overrides store.path
  std::string server;  // http://HOST:PORT of a running dcmon serve / run
  std::string format = "table";  // table | csv | json
  size_t max_rows = 100000;
  std::string query;
};

CLI::App* AddSql(CLI::App& app, SqlFlags& flags);
int RunSql(const SqlFlags& flags);

}  // namespace dcmon::cli
