// `dcmon load`: the exactly-once loader as a process: Kafka → DuckDB until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/kafka_flags.h"

namespace dcmon::cli {

struct LoadFlags {
  KafkaFlags kafka;
  std::string store = "data/dcmon.duckdb";
  std::string group;  // empty: loader.group from the config, else the loader's default
  std::string memory_limit = "1GB";
  int threads = 2;
  double exit_when_idle_s = 0;  // > 0: a batch job; stop once nothing has arrived for this long
};

CLI::App* AddLoad(CLI::App& app, LoadFlags& flags);
int RunLoad(const LoadFlags& flags);

}  // namespace dcmon::cli
