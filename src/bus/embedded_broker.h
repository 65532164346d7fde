// The embedded broker: librdkafka's mock cluster, which speaks the real Kafka protocol on loopback
// so any Kafka client or tool (kcat, other languages) can connect. In memory only, with bounded
// retention (about 5 MB or 100,000 records per partition in librdkafka 2.0): for local runs, demos
// and tests, never for data that must survive the process. Point dcmon at a real cluster with
// --kafka instead (docs/kafka.md). Thread-safe after Start(); fault injection goes through
// cluster().
//
//   auto broker = EmbeddedBroker::Start({.brokers = 1, .partitions = 6, .topics = {"dc.sensors"}});
//   std::string bootstrap = (*broker)->bootstrap();     // "127.0.0.1:40123"
#pragma once

#include <librdkafka/rdkafka.h>
// The mock header must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "bus/kafka_config.h"
#include "core/status.h"

namespace dcmon::bus {

struct EmbeddedBrokerOptions {
  int brokers = 1;
  int partitions = 6;
  std::vector<std::string> topics;
};

class EmbeddedBroker {
 public:
  static Result<std::unique_ptr<EmbeddedBroker>> Start(const EmbeddedBrokerOptions& options);
  ~EmbeddedBroker();

  const std::string& bootstrap() const { return bootstrap_; }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

 private:
  EmbeddedBroker() = default;
  KafkaHandle host_;  // the mock cluster lives inside a librdkafka instance
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace dcmon::bus
