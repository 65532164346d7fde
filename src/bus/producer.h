// Kafka producer: idempotent, batched and lz4-compressed, keyed by device id so each device's
// records stay ordered in one partition. The in-flight queue is bounded: when it is full Produce()
// waits (serving delivery reports) instead of growing memory, and gives up with a clear error after
// KafkaConfig::enqueue_timeout. Every delivery is counted as acked or failed, with librdkafka's
// reason for the last failure. Partitions() tells where the configured partitioner puts a key, for
// callers that frame several keys' records in one message produced to that partition. Produce() may
// be called from several threads at once (HTTP ingest does), each waiting for its own records with
// a DeliveryTracker; counters() may be read from any thread. Every Producer outlives the trackers
// of the records it has in flight only through them: a tracker keeps itself alive while a record
// refers to it, so a caller may stop waiting at any time.
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
  // Delivery reports that came after their tracker's caller had stopped waiting (its request was
  // answered 503): acknowledged or failed, each is counted here as well.
  std::atomic<int64_t> late{0};
};

// A Kafka record header, e.g. {"dcmon-reason", "value: expected a number"}.
struct Header {
  std::string_view name;
  std::string_view value;
};

// One caller's records in flight: Produce() counts them in, delivery reports count them out, and
// Wait() returns once the broker has acknowledged or refused each. Lets several threads share a
// producer without waiting for one another's records (as Flush() would). Thread-safe.
//
// Lifecycle: create it with std::make_shared. Each message in flight holds the tracker's address in
// librdkafka's message opaque, so while any is pending the tracker holds a reference to itself,
// released by the delivery report of its last message: the caller may drop its own reference (for
// example after Wait() gave up at its deadline) and the late reports still find the tracker alive.
class DeliveryTracker : public std::enable_shared_from_this<DeliveryTracker> {
 public:
  // Ok once every record is acknowledged; an error with librdkafka's reason if any was refused,
  // or if some are still in flight at the deadline (from then on the reports still to come are
  // counted as late by the producer).
  Status Wait(rd_kafka_t* rk, std::chrono::milliseconds deadline);

 private:
  friend class Producer;
  // Counts a message's records in (Produce) or out (its delivery report, or a Produce that
  // failed).
  void Add(int64_t records);
  // Returns whether the caller had stopped waiting; `error` is null for an acknowledged message.
  bool Remove(const char* error, int64_t records);

  std::mutex mu_;  // guards the members below
  int64_t pending_ = 0;
  int64_t failed_ = 0;
  std::string error_;
  bool abandoned_ = false;                 // Wait() gave up: later reports are late
  std::shared_ptr<DeliveryTracker> self_;  // set while pending_ > 0
};

// Where the producer's partitioner (librdkafka's `partitioner` property, consistent_random by
// default) puts each key on one topic, for the topic's partition count when Partitions() made it.
// Copyable; valid while its producer lives; Of() may be called from any thread.
class TopicPartitions {
 public:
  int32_t count() const { return count_; }
  // The partition librdkafka would pick for a message with this key, or RD_KAFKA_PARTITION_UA
  // where it would pick one at random (the `random` partitioner; an empty key with a `*_random`
  // one): such a message is produced unassigned, for librdkafka to pick.
  int32_t Of(std::string_view key) const;

 private:
  friend class Producer;
  using Function = int32_t (*)(const rd_kafka_topic_t*, const void*, size_t, int32_t, void*, void*);
  rd_kafka_topic_t* topic_ = nullptr;
  Function function_ = nullptr;  // null: random
  bool random_without_key_ = false;
  int32_t count_ = 0;
};

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> Create(const KafkaConfig& config);
  ~Producer();

  // To `partition`, or where the partitioner puts `key` (RD_KAFKA_PARTITION_UA). `records`: how
  // many records the message holds (HTTP ingest's NDJSON messages hold many); the counters and the
  // tracker count records.
  Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                 std::span<const Header> headers = {},
                 const std::shared_ptr<DeliveryTracker>& tracker = nullptr,
                 int32_t partition = RD_KAFKA_PARTITION_UA, int64_t records = 1);
  // How keys map to `topic`'s partitions, from the brokers' metadata: asked for at most `timeout`
  // the first time, then again every kPartitionsRefresh (partitions may be added to a topic; until
  // the next answer the last one holds). Unavailable when no metadata came or the topic has none.
  Result<TopicPartitions> Partitions(std::string_view topic, std::chrono::milliseconds timeout);
  static constexpr std::chrono::seconds kPartitionsRefresh{10};
  // Serves delivery reports without blocking.
  void Poll() { rd_kafka_poll(rk_.get(), 0); }
  // Waits until every queued record is acknowledged or failed, at most `deadline`. Records still
  // unacknowledged then (a broker down) are purged: each gets its delivery report as failed, so no
  // caller waits on it any longer, and the error says how many were not delivered. For the end of
  // a producer's use: with a broker down a record would otherwise wait out message.timeout.ms.
  Status Flush(std::chrono::milliseconds deadline);

  const ProducerCounters& counters() const { return counters_; }
  // librdkafka's reason for the most recent failed delivery, or empty.
  std::string last_error() const;
  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  // librdkafka's opaque of a message in flight: who waits for it, and how many records it holds.
  struct InFlight {
    DeliveryTracker* tracker;  // kept alive by its own reference while it has records in flight
    int64_t records;
  };

  Producer() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);
  static int OnStats(rd_kafka_t*, char* json, size_t len, void* opaque);
  rd_kafka_topic_t* Topic(std::string_view name);

  struct KnownPartitions {
    TopicPartitions partitions;
    std::chrono::steady_clock::time_point at;
  };

  KafkaHandle rk_;
  std::chrono::milliseconds enqueue_timeout_{};  // KafkaConfig::enqueue_timeout
  TopicPartitions partitioner_;                  // the configured partitioner, without topic
  std::mutex topics_mu_;                         // guards topics_, partitions_
  std::unordered_map<std::string, std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter>> topics_;
  std::unordered_map<std::string, KnownPartitions> partitions_;
  ProducerCounters counters_;
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace dcmon::bus
