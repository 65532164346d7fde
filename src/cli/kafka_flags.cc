#include "cli/kafka_flags.h"

#include <fmt/format.h>

namespace dcmon::cli {

void KafkaFlags::Add(CLI::App& cmd) {
  cmd.add_option("--config", config, "TOML configuration ([kafka] bootstrap, topics, properties)");
  cmd.add_option("--kafka", kafka, "Kafka bootstrap servers (host:port[,...])");
  cmd.add_option("--kafka-property", properties,
                 "librdkafka property KEY=VALUE (SASL, TLS, ...); repeatable");
}

Result<Config> KafkaFlags::Merge() const {
  Result<Config> merged = config.empty() ? Result<Config>(Config()) : Config::Load(config);
  if (!merged.ok()) return merged.status();
  if (!kafka.empty()) merged->SetFlag("kafka.bootstrap", kafka);
  for (const std::string& kv : properties) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument(fmt::format("--kafka-property \"{}\": expected KEY=VALUE", kv));
    }
    merged->SetFlag("kafka.properties." + kv.substr(0, eq), kv.substr(eq + 1));
  }
  return merged;
}

}  // namespace dcmon::cli
