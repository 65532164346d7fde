// `dcmon run`: everything in one process on embedded defaults: the embedded broker (unless a Kafka
// bootstrap is configured), a simulated facility producing in real time, and serve (loader, live
// state, API). Prints where to look.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/serve.h"

namespace dcmon::cli {

struct RunFlags {
  ServeFlags serve;
  std::string facility = "small";
  uint64_t seed = 1;
  double speed = 1;
  int history_minutes = 60;  // simulated history backfilled into a new store, so charts have data
  int partitions = 6;
  std::vector<std::string> scenarios;
};

CLI::App* AddRun(CLI::App& app, RunFlags& flags);
int RunRun(const RunFlags& flags);

}  // namespace dcmon::cli
