#include "bus/embedded_broker.h"

#include <fmt/format.h>

#include <algorithm>

namespace dcmon::bus {

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(
    const EmbeddedBrokerOptions& options) {
  if (options.brokers < 1 || options.brokers > 16)
    return InvalidArgument("broker: --brokers must be 1..16");
  if (options.partitions < 1 || options.partitions > 1000)
    return InvalidArgument("broker: --partitions must be 1..1000");
  std::unique_ptr<EmbeddedBroker> b(new EmbeddedBroker());
  KafkaConf conf(rd_kafka_conf_new());
  char err[512];
  // The host instance never connects anywhere; keep it quiet.
  rd_kafka_conf_set(conf.get(), "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (!rk) return InvalidArgument(fmt::format("broker: {}", err));
  conf.release();
  b->host_.reset(rk);
  b->cluster_ = rd_kafka_mock_cluster_new(rk, options.brokers);
  if (!b->cluster_) return InvalidArgument("broker: could not start the mock cluster");
  b->bootstrap_ = rd_kafka_mock_cluster_bootstraps(b->cluster_);
  const int replication = std::min(options.brokers, 3);
  for (const std::string& topic : options.topics) {
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(b->cluster_, topic.c_str(), options.partitions, replication);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return InvalidArgument(
          fmt::format("broker: creating topic {}: {}", topic, rd_kafka_err2str(e)));
    }
  }
  return b;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
}

}  // namespace dcmon::bus
