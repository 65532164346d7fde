#include "bus/kafka_sink.h"

namespace dcmon::bus {

Status KafkaSink::Write(std::string_view key, std::string_view line) {
  // AppendRecordJson writes source_type first, so the kind is in the first bytes.
  constexpr std::string_view kCooling = R"({"source_type":"cooling")";
  const std::string& topic =
      line.starts_with(kCooling) ? config_.cooling_topic : config_.sensors_topic;
  return producer_->Produce(topic, key, line);
}

}  // namespace dcmon::bus
