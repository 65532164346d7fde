// The exactly-once loader: Kafka → decode → DuckDB. It polls a batch (closed on size or time),
// decodes each record, and commits the good rows, the rejects (with their reasons) and the next
// offset of every partition in one DuckDB transaction. Partitions start where the store says on
// every assignment, so a crash anywhere re-reads exactly what was not committed. Kafka's own
// committed offsets are written after, for lag tools only. One thread runs a Loader; counters() may
// be read from any thread.
//
//   auto loader = Loader::Create(kafka, *db, {.group = "dcmon-loader"});
//   while (!stop) (*loader)->RunOnce();
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "bus/consumer.h"
#include "core/record_json.h"
#include "core/status.h"
#include "store/writer.h"

namespace dcmon::ingest {

struct LoaderOptions {
  std::string group = "dcmon-loader";         // Kafka consumer group
  size_t batch_records = 50000;               // a batch closes at this many records ...
  std::chrono::milliseconds batch_time{200};  // ... or after this long
};

struct LoaderCounters {
  std::atomic<int64_t> stored{0};    // rows committed to the record tables
  std::atomic<int64_t> rejected{0};  // undecodable or invalid records, kept in `rejects`
  std::atomic<int64_t> batches{0};
  std::atomic<int64_t> commit_failures{0};
};

class Loader : public bus::RebalanceListener {
 public:
  static Result<std::unique_ptr<Loader>> Create(const bus::KafkaConfig& kafka, store::Database& db,
                                                LoaderOptions options);

  // Polls one batch and commits it. An error leaves nothing half-stored; the batch is read again.
  Status RunOnce();
  // Commits nothing more and leaves the group.
  Status Close();

  const LoaderCounters& counters() const { return counters_; }
  const bus::ConsumerCounters& consumer_counters() const { return consumer_->counters(); }
  int64_t last_ingest_seq() const { return writer_->last_ingest_seq(); }
  // True once the group has given this loader partitions.
  bool assigned() const { return !consumer_->Assignment().empty(); }

  void OnAssigned(std::vector<bus::PartitionOffset>& partitions) override;
  void OnRevoked(const std::vector<bus::PartitionOffset>& partitions) override;

 private:
  Loader() = default;
  Status Rewind();  // after a failed commit: every assigned partition back to its stored offset

  LoaderOptions options_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<bus::Consumer> consumer_;
  RecordDecoder decoder_;
  store::WriteBatch batch_;
  bus::Batch messages_;
  LoaderCounters counters_;
  Status assign_error_;
};

}  // namespace dcmon::ingest
