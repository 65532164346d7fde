// A record Sink that produces to Kafka: sensor readings to the sensors topic and cooling metrics to
// the cooling topic, keyed by device id. Lines that are not records from our encoder (a simulated
// transport fault's broken lines) go to the sensors topic, where the loader rejects them like any
// other bad input.
#pragma once

#include <chrono>
#include <memory>

#include "bus/producer.h"
#include "core/sink.h"

namespace dcmon::bus {

class KafkaSink final : public Sink {
 public:
  KafkaSink(std::unique_ptr<Producer> producer, KafkaConfig config)
      : producer_(std::move(producer)), config_(std::move(config)) {}

  Status Write(std::string_view key, std::string_view line) override;
  // Waits for every record to be acknowledged (up to 30 s).
  Status Flush() override { return producer_->Flush(std::chrono::seconds(30)); }

  const Producer& producer() const { return *producer_; }

 private:
  std::unique_ptr<Producer> producer_;
  KafkaConfig config_;
};

}  // namespace dcmon::bus
