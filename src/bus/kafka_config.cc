#include "bus/kafka_config.h"

#include <fmt/format.h>

namespace dcmon::bus {

Status KafkaConfig::Validate() const {
  if (bootstrap.empty() && !properties.count("bootstrap.servers")) {
    return InvalidArgument("kafka.bootstrap: required (host:port[,host:port...])");
  }
  for (const auto* topic : {&sensors_topic, &cooling_topic, &rejects_topic, &metrics_topic}) {
    if (topic->empty()) return InvalidArgument("kafka topics: names must not be empty");
  }
  for (const auto& [name, timeout] : {std::pair{"commit_timeout", commit_timeout},
                                      std::pair{"enqueue_timeout", enqueue_timeout}}) {
    if (timeout <= std::chrono::milliseconds::zero()) {
      return InvalidArgument(
          fmt::format("kafka {}: must be > 0 ms, got {} ms", name, timeout.count()));
    }
  }
  return Status::Ok();
}

KafkaConfig KafkaConfigFrom(const Config& config) {
  KafkaConfig k;
  k.bootstrap = config.Get("kafka.bootstrap").value_or("");
  k.sensors_topic = config.Get("kafka.sensors_topic").value_or(k.sensors_topic);
  k.cooling_topic = config.Get("kafka.cooling_topic").value_or(k.cooling_topic);
  k.rejects_topic = config.Get("kafka.rejects_topic").value_or(k.rejects_topic);
  k.metrics_topic = config.Get("kafka.metrics_topic").value_or(k.metrics_topic);
  for (const auto& [key, value] : config.Section("kafka.properties")) k.properties[key] = value;
  return k;
}

Result<KafkaConf> MakeConf(const KafkaConfig& config,
                           const std::map<std::string, std::string>& defaults) {
  KafkaConf conf(rd_kafka_conf_new());
  char err[512];
  auto set = [&](const std::string& key, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return InvalidArgument(fmt::format("kafka property {}: {}", key, err));
    }
    return Status::Ok();
  };
  for (const auto& [k, v] : defaults) {
    if (Status s = set(k, v); !s.ok()) return s;
  }
  if (!config.bootstrap.empty()) {
    if (Status s = set("bootstrap.servers", config.bootstrap); !s.ok()) return s;
  }
  for (const auto& [k, v] : config.properties) {
    if (Status s = set(k, v); !s.ok()) return s;
  }
  return conf;
}

}  // namespace dcmon::bus
