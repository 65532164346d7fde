#include "bus/record_messages.h"

namespace dcmon::bus {

Status RecordFrames::Start(Producer& producer, const std::string& topic,
                           std::chrono::milliseconds timeout,
                           std::shared_ptr<DeliveryTracker> tracker, size_t message_bytes) {
  Result<TopicPartitions> p = producer.Partitions(topic, timeout);
  if (!p.ok()) return p.status();
  producer_ = &producer;
  topic_ = topic;
  tracker_ = std::move(tracker);
  message_bytes_ = message_bytes;
  partitions_ = *p;
  frames_.resize(static_cast<size_t>(p->count()) + 1);
  return Status::Ok();
}

Status RecordFrames::Add(std::string_view key, std::string_view line) {
  const int32_t partition = partitions_->Of(key);
  const size_t index =
      partition == RD_KAFKA_PARTITION_UA ? frames_.size() - 1 : static_cast<size_t>(partition);
  Frame& f = frames_[index];
  f.message.append(line);
  f.message.push_back('\n');
  ++f.records;
  if (f.message.size() < message_bytes_) return Status::Ok();
  return SendFrame(index);
}

Status RecordFrames::SendAll() {
  Status status;
  for (size_t i = 0; i < frames_.size(); ++i) {
    if (frames_[i].records == 0) continue;
    if (status.ok()) {
      status = SendFrame(i);
    } else {
      frames_[i].Clear();
    }
  }
  Stop();
  return status;
}

void RecordFrames::Clear() {
  for (Frame& f : frames_) f.Clear();
  Stop();
}

Status RecordFrames::SendFrame(size_t index) {
  Frame& f = frames_[index];
  const int32_t partition =
      index == frames_.size() - 1 ? RD_KAFKA_PARTITION_UA : static_cast<int32_t>(index);
  Status s = producer_->Produce(topic_, {}, f.message, kNdjsonFramingHeaders, tracker_, partition,
                                f.records);
  f.Clear();
  return s;
}

void RecordFrames::Stop() {
  producer_ = nullptr;
  tracker_.reset();
  partitions_.reset();
}

}  // namespace dcmon::bus
