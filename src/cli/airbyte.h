// `dcmon airbyte spec|check|discover|read`: dcmon as an Airbyte source (airbyte/source.h), the
// command line Airbyte runs a connector image with. Wiring only.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "airbyte/source.h"

namespace dcmon::cli {

struct AirbyteFlags {
  std::string config;   // --config: the connection's configuration (JSON file)
  std::string catalog;  // --catalog: the configured catalog (read)
  std::string state;    // --state: the last state messages (read, optional)
  airbyte::SourceOptions options;
};

CLI::App* AddAirbyte(CLI::App& app, AirbyteFlags& flags);
// The exit code: 0 when the command did its work (a FAILED check included), else 1.
int RunAirbyte(const CLI::App& cmd, const AirbyteFlags& flags);

}  // namespace dcmon::cli
