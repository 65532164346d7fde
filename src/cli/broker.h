// `dcmon broker`: the embedded Kafka-protocol broker as a process of its own.
#pragma once

#include <CLI/CLI.hpp>

#include "bus/embedded_broker.h"

namespace dcmon::cli {

CLI::App* AddBroker(CLI::App& app, bus::EmbeddedBrokerOptions& options);
// Prints `bootstrap.servers=HOST:PORT[,...]` on stdout once it accepts connections, then runs until
// SIGINT/SIGTERM. Returns the exit code.
int RunBroker(bus::EmbeddedBrokerOptions options);

}  // namespace dcmon::cli
