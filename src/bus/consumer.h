// Kafka consumer for loaders: partitions assigned directly (no group rebalancing) with manual
// offset management. A member reads the partitions its Membership gives it, found in the brokers'
// metadata at the first Poll() and looked for again every few seconds (new topics and partitions
// join), so a member killed and started again reads at once: there is no group session to expire.
// The caller decides when a batch is durable (for dcmon, committed to DuckDB together with its
// offsets) and tells the consumer where each partition starts; Kafka's committed offsets under the
// group id are a copy for lag tools and for hand-off between stores. Offsets that fell out of the
// broker's retention are never skipped silently: the gap is counted as lost, logged, and
// consumption resumes at the oldest record still held. One thread uses a Consumer; counters() may
// be read from any thread.
//
//   struct Store : AssignmentListener { ... };      // OnAssigned fills start offsets
//   auto c = Consumer::Create(kafka, "dcmon-loader", {"dc.sensors", "dc.cooling"}, &store,
//                             {.member = 0, .members = 2});   // partitions 0, 2, 4, ...
//   Batch batch;
//   if (Status s = (*c)->Poll(50000, std::chrono::milliseconds(200), batch); !s.ok()) log(s);
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

class AssignmentListener {
 public:
  virtual ~AssignmentListener() = default;
  // These partitions are now ours (called inside Poll(), on its thread): set each one's `offset` to
  // where reading must start. It arrives as the group's committed offset in Kafka, or
  // RD_KAFKA_OFFSET_BEGINNING when there is none; leave it for partitions with no position of the
  // listener's own. A partition, once assigned, stays assigned until the consumer is closed.
  virtual void OnAssigned(std::vector<PartitionOffset>& partitions) = 0;
};

// Which partitions a member reads: partition p of every topic where p % members == member. Every
// member of a deployment runs with the same `members` and its own `member`, so that together they
// read every partition once.
struct Membership {
  int member = 0;   // this member's index, 0 <= member < members
  int members = 1;  // how many members split the partitions

  Status Validate() const;
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
  std::atomic<int64_t> lost{0};         // records that fell out of retention before they were read
  std::atomic<int64_t> errors{0};       // consumer errors other than end-of-partition
  std::atomic<int64_t> assignments{0};  // partitions assigned
  std::atomic<int64_t> fetcher_wakes{0};  // WakeFetcher() requests sent
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
  // Partitions start at the committed offset in Kafka of `group`, or the beginning, unless
  // `listener` (may be null) says otherwise.
  static Result<std::unique_ptr<Consumer>> Create(const KafkaConfig& config,
                                                  const std::string& group,
                                                  const std::vector<std::string>& topics,
                                                  AssignmentListener* listener,
                                                  Membership membership = {});
  ~Consumer();

  // Appends up to `max` messages to `out`, waiting at most `timeout` for the first one (a partition
  // search, when due, may add up to 5 s more before the first partitions are found, 1 s after).
  // Returns the first error met on the way (a broker unreachable, a topic unknown or refused, a
  // failed partition search) with the number of others; librdkafka keeps retrying by itself, and
  // the messages appended to `out` are valid either way.
  Status Poll(size_t max, std::chrono::milliseconds timeout, Batch& out);
  // Commits next offsets to Kafka, waiting for the group coordinator's answer at most
  // KafkaConfig::commit_timeout: for lag monitoring; dcmon's source of truth is its store.
  // librdkafka's own synchronous commit waits for a coordinator that is down for as long as it
  // stays down.
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
  // Wakes librdkafka's fetchers (for a caller that found the queue empty with a backlog ahead):
  // librdkafka 2.0 stops fetching once its queue holds queued.max.messages.kbytes and looks at the
  // queue again only on a broker's I/O or after up to 1 s, however soon the queue is drained. Asks
  // every broker leading an assigned partition for that partition's end (one request per broker,
  // waiting up to `timeout`), which is such I/O. At most once per 100 ms; a no-op otherwise.
  void WakeFetcher(std::chrono::milliseconds timeout);
  // The last Commit() got no answer within KafkaConfig::commit_timeout.
  bool coordinator_silent() const { return coordinator_silent_; }
  // Stops fetching; Poll() must not be called afterwards.
  Status Close();

  const ConsumerCounters& counters() const { return counters_; }

 private:
  Consumer() = default;
  // Looks for this member's partitions in the brokers' metadata and assigns the new ones.
  Status Discover(std::chrono::milliseconds timeout);
  // Assigns every partition of the current assignment again, at the position the application has
  // got to (its start when nothing was read yet), with `changes` overriding or adding partitions.
  Status Reassign(const std::vector<PartitionOffset>& changes);
  Status HandleOutOfRange(const rd_kafka_message_t* m);
  // Keeps a message in `out`, or handles and frees an error event (returned).
  Status Accept(rd_kafka_message_t* m, Batch& out);

  KafkaHandle rk_;
  std::unique_ptr<rd_kafka_queue_t, RdKafkaDeleter> queue_;  // the consumer queue
  std::vector<std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter>> topics_;
  AssignmentListener* listener_ = nullptr;
  Membership membership_;
  std::chrono::milliseconds commit_timeout_{};  // KafkaConfig::commit_timeout
  // When to look for partitions next: soon while a topic has none, rarely once all have some.
  std::chrono::steady_clock::time_point discover_at_;
  std::chrono::steady_clock::time_point woken_at_;                    // WakeFetcher's last request
  std::map<std::pair<std::string, int32_t>, int64_t> start_offsets_;  // of the current assignment
  ConsumerCounters counters_;
  bool closed_ = false;
  bool coordinator_silent_ = false;  // the last Commit() got no answer in time
  // Close() did not close: the destructor destroys the handle without closing it.
  bool close_abandoned_ = false;
};

}  // namespace dcmon::bus
