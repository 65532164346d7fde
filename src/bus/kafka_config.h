// Kafka settings shared by dcmon's producers and consumers, and the librdkafka handle plumbing
// behind them. Any librdkafka property can be passed through `properties` (SASL, TLS, client.id,
// ...), so real clusters (Confluent Cloud, MSK, Redpanda) work; the embedded broker needs none.
//
//   KafkaConfig k{.bootstrap = "127.0.0.1:9092"};
//   k.properties["security.protocol"] = "SASL_SSL";
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace dcmon::bus {

struct KafkaConfig {
  std::string bootstrap;  // bootstrap.servers
  std::map<std::string, std::string>
      properties;  // passed to librdkafka as is; they win over our defaults
  std::string sensors_topic = "dc.sensors";  // sensor readings
  std::string cooling_topic = "dc.cooling";  // cooling-system metrics
  std::string rejects_topic = "dc.rejects";  // dead letters: undecodable input with its reason
  std::string metrics_topic = "dc.metrics";  // line-protocol points from HTTP (store/points.h)
  // Consumer::Commit() waits this long for the group coordinator's answer (not a file setting).
  std::chrono::milliseconds commit_timeout{2000};
  // Producer::Produce() waits this long for room in a full queue, then fails (not a file setting).
  std::chrono::milliseconds enqueue_timeout{30000};

  Status Validate() const;
};

// The [kafka] settings of a merged Config: kafka.bootstrap, kafka.sensors_topic,
// kafka.cooling_topic, kafka.rejects_topic, kafka.metrics_topic, and kafka.properties.* (any
// librdkafka property). Empty bootstrap when none is set.
KafkaConfig KafkaConfigFrom(const Config& config);

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, RdKafkaDeleter>;

// A librdkafka configuration: `defaults` first, then config.bootstrap, then config.properties
// (which win). Errors name the property and carry librdkafka's reason.
Result<KafkaConf> MakeConf(const KafkaConfig& config,
                           const std::map<std::string, std::string>& defaults);

}  // namespace dcmon::bus
