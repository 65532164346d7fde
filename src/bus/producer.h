// Kafka producer: idempotent, batched and lz4-compressed, keyed by device id so each device's
// records stay ordered in one partition. The in-flight queue is bounded: when it is full Produce()
// waits (serving delivery reports) instead of growing memory, and gives up with a clear error after
// `enqueue_timeout`. Every delivery is counted as acked or failed, with librdkafka's reason for the
// last failure. Produce() may be called from several threads at once (HTTP ingest does), each
// waiting for its own records with a DeliveryTracker; counters() may be read from any thread.
//
//   auto p = Producer::Create({.bootstrap = "127.0.0.1:9092"});
//   (*p)->Produce("dc.sensors", "room-1-a01-pdu", json);
//   (*p)->Flush(std::chrono::seconds(10));
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bus/kafka_config.h"
#include "core/status.h"

namespace dcmon::bus {

struct ProducerCounters {
  std::atomic<int64_t> produced{0};  // accepted into the queue
  std::atomic<int64_t> acked{0};     // delivered: the broker acknowledged
  std::atomic<int64_t> failed{0};    // given up on after librdkafka's retries
  std::atomic<int64_t> retries{0};   // request retries librdkafka made (from its statistics)
  std::atomic<int64_t> waits{0};     // times Produce() waited for room in the queue (back-pressure)
};

// A Kafka record header, e.g. {"dcmon-reason", "value: expected a number"}.
struct Header {
  std::string_view name;
  std::string_view value;
};

// One caller's records in flight: Produce() counts them in, delivery reports count them out, and
// Wait() returns once the broker has acknowledged or refused each. Lets several threads share a
// producer without waiting for one another's records (as Flush() would). Thread-safe.
class DeliveryTracker {
 public:
  // Ok once every record is acknowledged; an error with librdkafka's reason if any was refused,
  // or if some are still in flight at the deadline.
  Status Wait(rd_kafka_t* rk, std::chrono::milliseconds deadline);

 private:
  friend class Producer;
  std::mutex mu_;
  int64_t pending_ = 0;
  int64_t failed_ = 0;
  std::string error_;
};

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> Create(const KafkaConfig& config);
  ~Producer();

  Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                 std::span<const Header> headers = {}, DeliveryTracker* tracker = nullptr);
  // Serves delivery reports without blocking.
  void Poll() { rd_kafka_poll(rk_.get(), 0); }
  // Waits until every queued record is acknowledged or failed, at most `deadline`.
  Status Flush(std::chrono::milliseconds deadline);

  const ProducerCounters& counters() const { return counters_; }
  // librdkafka's reason for the most recent failed delivery, or empty.
  std::string last_error() const;
  rd_kafka_t* handle() const { return rk_.get(); }

  std::chrono::milliseconds enqueue_timeout{30000};

 private:
  Producer() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);
  static int OnStats(rd_kafka_t*, char* json, size_t len, void* opaque);
  rd_kafka_topic_t* Topic(std::string_view name);

  KafkaHandle rk_;
  std::mutex topics_mu_;  // guards topics_
  std::unordered_map<std::string, std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter>> topics_;
  ProducerCounters counters_;
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace dcmon::bus
