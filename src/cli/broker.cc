#include "cli/broker.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/signals.h"
#include "core/log.h"

namespace dcmon::cli {

CLI::App* AddBroker(CLI::App& app, bus::EmbeddedBrokerOptions& o) {
  CLI::App* cmd = app.add_subcommand("broker",
                                     "Run the embedded Kafka-protocol broker (in memory, bounded "
                                     "retention: for local runs and tests)");
  cmd->add_option("--partitions", o.partitions, "Partitions per topic")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--brokers", o.brokers, "Number of brokers")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  return cmd;
}

int RunBroker(bus::EmbeddedBrokerOptions options) {
  const bus::KafkaConfig topics;
  options.topics = {topics.sensors_topic, topics.cooling_topic, topics.rejects_topic,
                    topics.metrics_topic};
  InstallStopSignals();
  Result<std::unique_ptr<bus::EmbeddedBroker>> broker = bus::EmbeddedBroker::Start(options);
  if (!broker.ok()) {
    std::fprintf(stderr, "dcmon broker: %s\n", broker.status().message().c_str());
    return 2;
  }
  std::printf("bootstrap.servers=%s\n", (*broker)->bootstrap().c_str());
  std::fflush(stdout);
  Logger("broker")->info(
      "embedded broker on {}: {} broker(s), topics {} with {} partitions each; in memory, "
      "bounded retention; Ctrl-C stops it",
      (*broker)->bootstrap(), options.brokers, fmt::join(options.topics, ", "), options.partitions);
  while (!StopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Logger("broker")->info("stopping");
  return 0;
}

}  // namespace dcmon::cli
