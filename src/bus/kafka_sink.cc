#include "bus/kafka_sink.h"

namespace dcmon::bus {
namespace {

constexpr std::chrono::seconds kPartitionsTimeout{10};

}  // namespace

Status KafkaSink::Write(std::string_view key, std::string_view line) {
  // AppendRecordJson writes source_type first, so the kind is in the first bytes.
  constexpr std::string_view kCooling = R"({"source_type":"cooling")";
  const bool cooling = line.starts_with(kCooling);
  const std::string& topic = cooling ? config_.cooling_topic : config_.sensors_topic;
  RecordFrames& frames = cooling ? cooling_ : sensors_;
  if (!frames.started()) {
    if (Status s = frames.Start(*producer_, topic, kPartitionsTimeout); !s.ok()) return s;
  }
  if (Status s = frames.Add(key, line); !s.ok()) return s;
  // The clock is read once per kClockEvery records: a backfill writes about a million a second.
  constexpr int kClockEvery = 1024;
  if (++writes_ < kClockEvery) return Status::Ok();
  writes_ = 0;
  if (std::chrono::steady_clock::now() - sent_at_ < kMaxFrameWait) return Status::Ok();
  return SendFrames();
}

Status KafkaSink::SendFrames() {
  sent_at_ = std::chrono::steady_clock::now();
  if (Status s = sensors_.SendAll(); !s.ok()) return s;
  return cooling_.SendAll();
}

Status KafkaSink::Flush() {
  if (Status s = SendFrames(); !s.ok()) return s;
  return producer_->Flush(std::chrono::seconds(30));
}

}  // namespace dcmon::bus
