// `dcmon serve`: the loader (Kafka → DuckDB, exactly once), the live facility state and the HTTP
// API in one process that owns the store file. `dcmon run` is the same with an embedded broker and
// a simulated facility around it (run.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/kafka_flags.h"
#include "core/config.h"

namespace dcmon::cli {

struct ServeFlags {
  KafkaFlags kafka;
  std::string store;   // --store: store.path
  std::string listen;  // --listen: api.listen
  std::string group;   // --group: loader.group
  // Puts the flags given over the merged file and environment.
  Result<Config> Merge() const;
};

void AddServeFlags(CLI::App& cmd, ServeFlags& flags);
CLI::App* AddServe(CLI::App& app, ServeFlags& flags);
int RunServe(const ServeFlags& flags);

// What a started server tells whoever started it.
struct ServeInfo {
  std::string url;          // "http://127.0.0.1:8080"
  std::string admin_token;  // generated at start; empty when DCMON_ADMIN_TOKEN gave it
};

// Runs serve on a merged configuration until SIGINT/SIGTERM; `on_ready` runs once the API
// listens. Returns the exit code.
int ServeUntilStopped(const Config& config, const std::function<void(const ServeInfo&)>& on_ready);

}  // namespace dcmon::cli
