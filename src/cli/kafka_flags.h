// The Kafka flags every role that talks to Kafka takes (--config, --kafka, --kafka-property),
// merged over the configuration file and the environment in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/config.h"

namespace dcmon::cli {

struct KafkaFlags {
  std::string config;                   // --config FILE
  std::string kafka;                    // --kafka BOOTSTRAP
  std::vector<std::string> properties;  // --kafka-property KEY=VALUE

  void Add(CLI::App& cmd);
  // The file, then DCMON_* environment, then these flags. Errors name the bad flag or file.
  Result<Config> Merge() const;
};

}  // namespace dcmon::cli
