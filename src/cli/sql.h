// `dcmon sql`: run one read-only query against a store file and print the result.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dcmon::cli {

struct SqlFlags {
  std::string store = "data/dcmon.duckdb";
  std::string format = "table";  // table | csv | json
  std::string query;
};

CLI::App* AddSql(CLI::App& app, SqlFlags& flags);
int RunSql(const SqlFlags& flags);

}  // namespace dcmon::cli
