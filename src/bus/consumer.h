// Kafka consumer for loaders: a consumer group with manual offset management. The caller decides
// when a batch is durable (for dcmon, committed to DuckDB together with its offsets) and tells the
// consumer where each partition starts on assignment; Kafka's committed offsets are only a copy for
// lag tools. Offsets that fell out of the broker's retention are never skipped silently: the gap is
// counted as lost, logged, and consumption resumes at the oldest record still held. One thread uses
// a Consumer; counters() may be read from any thread.
//
//   struct Store : RebalanceListener { ... };      // OnAssigned fills start offsets, OnRevoked
//   drops work auto c = Consumer::Create(kafka, "dcmon-loader", {"dc.sensors", "dc.cooling"},
//   &store); Batch batch;
//   (*c)->Poll(50000, std::chrono::milliseconds(200), batch);
//   ... store batch.message(i).value ...; (*c)->Commit(next_offsets);
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/kafka_config.h"
#include "core/status.h"

namespace dcmon::bus {

struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RD_KAFKA_OFFSET_BEGINNING;  // the next offset to read

  friend bool operator==(const PartitionOffset&, const PartitionOffset&) = default;
};

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // These partitions are now ours: set each one's `offset` to where reading must start. It arrives
  // as the group's committed offset in Kafka, or RD_KAFKA_OFFSET_BEGINNING when there is none;
  // leave it for partitions with no position of the listener's own.
  virtual void OnAssigned(std::vector<PartitionOffset>& partitions) = 0;
  // These partitions are about to go to another member: finish or drop work on them now. Records of
  // them that were not made durable will be read again by the new owner.
  virtual void OnRevoked(const std::vector<PartitionOffset>& partitions) = 0;
};

// The messages of one Poll(); owns them until cleared or destroyed.
class Batch {
 public:
  Batch() = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch() { Clear(); }

  struct View {
    std::string_view topic;
    int32_t partition;
    int64_t offset;
    std::string_view key;
    std::string_view value;
  };
  size_t size() const { return messages_.size(); }
  bool empty() const { return messages_.empty(); }
  View message(size_t i) const;
  // The value of message i's last header called `name`, or nullopt.
  std::optional<std::string_view> header(size_t i, std::string_view name) const;
  void Clear();

 private:
  friend class Consumer;
  std::vector<rd_kafka_message_t*> messages_;
};

struct ConsumerCounters {
  std::atomic<int64_t> consumed{0};
  std::atomic<int64_t> lost{0};        // records that fell out of retention before they were read
  std::atomic<int64_t> errors{0};      // consumer errors other than end-of-partition
  std::atomic<int64_t> rebalances{0};  // assignments and revocations
};

// How far a member is behind in one partition: the high watermark minus the next offset it will
// read (-1 when the broker has not told the watermark yet).
struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t lag = -1;

  friend bool operator==(const PartitionLag&, const PartitionLag&) = default;
};

class Consumer {
 public:
  // Partitions start at the group's committed offset in Kafka, or the beginning, unless `listener`
  // (may be null) says otherwise.
  static Result<std::unique_ptr<Consumer>> Create(const KafkaConfig& config,
                                                  const std::string& group,
                                                  const std::vector<std::string>& topics,
                                                  RebalanceListener* listener);
  ~Consumer();

  // Appends up to `max` messages to `out`, waiting at most `timeout` for the first one.
  Status Poll(size_t max, std::chrono::milliseconds timeout, Batch& out);
  // Commits next offsets to Kafka (synchronously): for lag monitoring; dcmon's source of truth is
  // its store.
  Status Commit(const std::vector<PartitionOffset>& next_offsets);
  // Back-pressure: stop or restart fetching for these partitions without giving them up.
  Status Pause(const std::vector<PartitionOffset>& partitions);
  Status Resume(const std::vector<PartitionOffset>& partitions);
  // Moves assigned partitions to the given offsets (after a failed store commit: back to the stored
  // ones).
  Status Seek(const std::vector<PartitionOffset>& partitions);
  // The partitions currently assigned to this member.
  std::vector<PartitionOffset> Assignment() const;
  // Lag of every assigned partition, from the watermarks of the last fetch (asks the broker, up to
  // 1 s, for partitions not fetched yet).
  std::vector<PartitionLag> Lag() const;
  // Leaves the group (its partitions go to the remaining members).
  Status Close();

  const ConsumerCounters& counters() const { return counters_; }

 private:
  Consumer() = default;
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* list, void* opaque);
  void HandleOutOfRange(const rd_kafka_message_t* m);
  // Keeps a message in `out`, or handles and frees an error event.
  void Accept(rd_kafka_message_t* m, Batch& out);

  KafkaHandle rk_;
  std::unique_ptr<rd_kafka_queue_t, RdKafkaDeleter> queue_;  // the consumer queue
  RebalanceListener* listener_ = nullptr;
  std::map<std::pair<std::string, int32_t>, int64_t> start_offsets_;  // of the current assignment
  ConsumerCounters counters_;
  bool closed_ = false;
};

}  // namespace dcmon::bus
