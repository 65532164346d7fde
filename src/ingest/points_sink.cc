#include "ingest/points_sink.h"

#include "store/points.h"

namespace dcmon::ingest {

bool IsHttpTopic(const bus::KafkaConfig& kafka, std::string_view topic) {
  return topic == kafka.metrics_topic || topic == kafka.rejects_topic;
}

Status TakeHttpMessage(const bus::KafkaConfig& kafka, const bus::Batch& messages, size_t i,
                       store::WriteBatch& batch) {
  const bus::Batch::View m = messages.message(i);
  if (m.topic == kafka.metrics_topic) return store::DecodePointsMessage(m.value, batch.points);
  if (messages.header(i, kRejectSourceHeader) != "http") return Status::Ok();
  batch.rejects.push_back(
      {"http", std::string(messages.header(i, kRejectPositionHeader).value_or("")),
       std::string(messages.header(i, kRejectReasonHeader).value_or("")), std::string(m.value)});
  return Status::Ok();
}

}  // namespace dcmon::ingest
