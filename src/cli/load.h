// `dcmon load`: the exactly-once loader as a process: Kafka → DuckDB until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/kafka_flags.h"

namespace dcmon::cli {

struct LoadFlags {
  KafkaFlags kafka;
  // Each overrides its key (store.path, loader.group, store.memory_limit, store.threads) when set;
  // the defaults are the components' own.
  std::string store;
  std::string group;
  std::string memory_limit;
  int threads = 0;
  double exit_when_idle_s = 0;  // > 0: a batch job; stop once nothing has arrived for this long
};

CLI::App* AddLoad(CLI::App& app, LoadFlags& flags);
int RunLoad(const LoadFlags& flags);

}  // namespace dcmon::cli
