// A record Sink that produces to Kafka: sensor readings to the sensors topic and cooling metrics to
// the cooling topic, framed as NDJSON by the partition their device id maps to
// (bus/record_messages.h): a partition's message goes out once it holds about 256 KB, and every
// message at Flush() and once 100 ms have passed since the last time all went out, so no record
// waits longer for its message's fill (a backfill's few cooling records would otherwise wait for
// its end).
// Lines that are not records from our encoder (a simulated transport fault's broken lines) go to
// the sensors topic, where the loader rejects them, each on its own, like any other bad input.
#pragma once

#include <chrono>
#include <memory>

#include "bus/producer.h"
#include "bus/record_messages.h"
#include "core/sink.h"

namespace dcmon::bus {

class KafkaSink final : public Sink {
 public:
  KafkaSink(std::unique_ptr<Producer> producer, KafkaConfig config)
      : producer_(std::move(producer)), config_(std::move(config)) {}

  // Fails when no broker tells the topic's partitions within 10 s, or when Produce() does.
  Status Write(std::string_view key, std::string_view line) override;
  // Sends the framed records, then waits for every record to be acknowledged (up to 30 s).
  Status Flush() override;

  const Producer& producer() const { return *producer_; }

 private:
  // Sends every framed record without waiting for the acknowledgements.
  Status SendFrames();

  static constexpr std::chrono::milliseconds kMaxFrameWait{100};
  std::unique_ptr<Producer> producer_;
  KafkaConfig config_;
  RecordFrames sensors_, cooling_;
  std::chrono::steady_clock::time_point sent_at_ = std::chrono::steady_clock::now();
  int writes_ = 0;  // since the clock was last read
};

}  // namespace dcmon::bus
