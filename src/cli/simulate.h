// `dcmon simulate`: the facility simulator as a command (flags in docs/simulator.md).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/kafka_flags.h"

namespace dcmon::cli {

struct SimulateFlags {
  std::string facility = "small";
  uint64_t seed = 1;
  std::string from;
  std::string to;
  double speed = 1;
  std::vector<std::string> scenarios;
  std::string out = "-";
  std::string labels;
  bool quiet = false;
  KafkaFlags kafka;
};

CLI::App* AddSimulate(CLI::App& app, SimulateFlags& flags);
// Returns the process exit code: 0 done, 1 failed while running, 2 bad arguments or configuration.
// `out_given`: --out was on the command line (it then wins over a Kafka bootstrap from the
// environment).
int RunSimulate(const SimulateFlags& flags, bool out_given);

}  // namespace dcmon::cli
