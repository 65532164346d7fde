// The exactly-once loader: Kafka → decode → DuckDB. It polls a batch (closed on size or time),
// decodes each record, drops exact re-sends within an event-time window (when one is set), and
// commits the good rows, the rejects (with their reasons) and the next offset of every partition in
// one DuckDB transaction. It reads the partitions of its `membership` directly (no group
// rebalancing: a loader killed and started again reads at once), each starting where the store
// says (where Kafka's committed offset says for partitions the store has never held), so a crash
// anywhere re-reads exactly what was not committed. After each commit: the on_commit hook, the dead
// letters to the rejects topic, and Kafka's copy of the offsets (for lag tools and hand-off). When
// a store commit fails the partitions are paused and rewound, and the loader backs off before it
// tries again.
//
// One thread runs a Loader. counters(), healthy(), last_error() and partition_lags() may be read
// from any thread.
//
//   auto loader = Loader::Create(kafka, *db, {.group = "dcmon-loader"});
//   while (!stop) (*loader)->RunOnce();
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/consumer.h"
#include "bus/producer.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/record_json.h"
#include "core/status.h"
#include "ingest/dedup_window.h"
#include "store/retention.h"
#include "store/rollups_hourly.h"
#include "store/writer.h"

namespace dcmon::ingest {

struct LoaderOptions {
  std::string group = "dcmon-loader";  // Kafka group id of the offsets' copy in Kafka
  // Which partitions this loader reads (loader.member of loader.members): loaders with their own
  // stores split the partitions by running with the same `members` and each its own `member`.
  bus::Membership membership;
  // A batch closes at this many records ... (150,000, which would fill a DuckDB row group with a
  // backlog's sensor rows, cost more CPU per record and a larger file: docs/benchmarks.md)
  size_t batch_records = 50000;
  std::chrono::milliseconds batch_time{200};  // ... or after this long
  // Records with the same device, measurement and event time as one seen within this event-time
  // window (behind the device's newest) are dropped as re-sends and counted; 0 turns it off.
  std::chrono::microseconds dedup_window = std::chrono::minutes(10);
  // After a failed commit, the partitions pause this long before the next try, doubling up to the
  // max.
  std::chrono::milliseconds retry_backoff{100};
  std::chrono::milliseconds retry_backoff_max{30000};
  // healthy() turns false after this many commits failed in a row ...
  int unhealthy_failures = 3;
  // ... or once commits have kept failing for this long.
  std::chrono::milliseconds unhealthy_after{60000};
  // How often partition_lags() is refreshed.
  std::chrono::milliseconds lag_interval{5000};
  // Raw-data retention, run between batches on the writer's connection (off by default).
  store::RetentionOptions retention;
  // Hourly rollups (rollups_1h, for long /api/v1/series ranges), run the same way.
  store::HourlyRollupOptions hourly_rollups;
  // Called on the loader thread after every successful commit with what was stored (the API's live
  // state and stream). Must not throw.
  std::function<void(const store::WriteBatch&, const store::CommitStats&)> on_commit;

  Status Validate() const;
};
// [loader] group and [store] retention_days, export_dir (docs/configuration.md); on_commit is the
// caller's.
Result<LoaderOptions> LoaderOptionsFrom(const Config& config);

struct LoaderCounters {
  std::atomic<int64_t> stored{0};        // rows committed to the record tables
  std::atomic<int64_t> rejected{0};      // undecodable or invalid records, kept in `rejects`
  std::atomic<int64_t> duplicates{0};    // exact re-sends dropped (same device, measurement, time)
  std::atomic<int64_t> dead_letters{0};  // rejects handed to the rejects topic
  std::atomic<int64_t> batches{0};
  std::atomic<int64_t> commit_failures{0};
  // Lateness of stored records: behind their device's newest event time seen ...
  std::atomic<int64_t> late{0};
  std::atomic<int64_t> late_max_micros{0};
  std::atomic<int64_t> late_last_micros{0};
  // ... and ingest time minus event time.
  std::atomic<int64_t> delay_max_micros{0};
  std::atomic<int64_t> delay_last_micros{0};
};

// The [loader] settings of a merged Config: loader.group, loader.member, loader.members,
// loader.dedup_window (a duration: "10m", "90s", "0" for off), and store::RetentionOptionsFrom's.
// Errors name the key, the value and its origin.
Result<LoaderOptions> LoaderOptionsFrom(const Config& config);

class Loader : public bus::AssignmentListener {
 public:
  static Result<std::unique_ptr<Loader>> Create(const bus::KafkaConfig& kafka, store::Database& db,
                                                LoaderOptions options);

  // Closes first.
  ~Loader() override;

  // Polls one batch and commits it. An error leaves nothing half-stored; the batch is read again
  // after the back-off, during which RunOnce() waits (at most batch_time per call) and returns ok.
  Status RunOnce();
  // Commits nothing more to the store, waits briefly for dead letters in flight, sends Kafka's copy
  // of the offsets once more if it was refused, and stops reading.
  Status Close();

  const LoaderCounters& counters() const { return counters_; }
  const bus::ConsumerCounters& consumer_counters() const { return consumer_->counters(); }
  const bus::ProducerCounters& dead_letter_counters() const { return dead_letters_->counters(); }
  int64_t last_ingest_seq() const { return writer_->last_ingest_seq(); }
  // True once this loader has found partitions of its membership to read.
  bool assigned() const { return !consumer_->Assignment().empty(); }
  // False while commits keep failing (options: unhealthy_failures, unhealthy_after), or when the
  // store's offsets could not be read on an assignment.
  bool healthy() const;
  // The most recent commit failure, or empty.
  std::string last_error() const;
  // How long each batch took to commit to the store (successful or not), in seconds.
  const Histogram& commit_latency() const { return commit_seconds_; }
  // Lag per assigned partition: a snapshot the loader thread refreshes every lag_interval.
  std::vector<bus::PartitionLag> partition_lags() const;
  // The loader's counters, lag and commit latency for /metrics, under the names its status line
  // uses (docs/api.md).
  void WriteMetrics(Exposition& e) const;

  void OnAssigned(std::vector<bus::PartitionOffset>& partitions) override;

 private:
  Loader() = default;
  Status SeedDedupWindow();
  // Sets the offset of each partition the store holds to the stored one.
  Status ApplyStoredOffsets(std::vector<bus::PartitionOffset>& partitions);
  // Decodes messages_ into batch_, dropping re-sends; staged in dedup_ until the commit.
  void Decode(int64_t now_micros);
  void OnCommitted(const store::CommitStats& stats);
  // After a failed commit: pause every partition and plan the rewind.
  Status BackOff(const Status& failure);
  // After the back-off: rewind and resume.
  Status Retry();
  // For healthy() and last_error().
  void RecordFailure(const Status& failure);
  void ProduceDeadLetters();
  // Sends kafka_pending_ to Kafka; keeps it when that fails.
  void CommitToKafka();
  void RefreshLags();

  LoaderOptions options_;
  bus::KafkaConfig kafka_;  // topic names
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::unique_ptr<bus::Producer> dead_letters_;
  RecordDecoder decoder_;
  DedupWindow dedup_{std::chrono::minutes(10)};
  // Reused for every batch, so memory is bounded by batch_records whatever happens downstream.
  store::WriteBatch batch_;
  bus::Batch messages_;
  std::vector<size_t> reject_messages_;  // index in messages_ of each batch_.rejects entry
  // First and next offset of each partition in the batch in hand.
  std::map<std::pair<std::string, int32_t>, std::pair<int64_t, int64_t>> spans_;
  // What the batch in hand adds to the counters once it is committed.
  struct Pending {
    int64_t duplicates = 0;
    int64_t late = 0, late_max = 0, late_last = 0;
    int64_t delay_max = INT64_MIN, delay_last = 0;
  } pending_;
  LoaderCounters counters_;
  std::unique_ptr<store::Retention> retention_;
  std::unique_ptr<store::HourlyRollups> hourly_rollups_;
  Histogram commit_seconds_{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  Status assign_error_;
  // Stored offsets not yet committed to Kafka (a commit that Kafka refused).
  std::map<std::pair<std::string, int32_t>, int64_t> kafka_pending_;

  // Back-off after a failed commit: the partitions are paused until retry_at_, then sought back to
  // rewind_ (the failed batch's first offsets) and resumed.
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point retry_at_;
  std::vector<bus::PartitionOffset> rewind_;
  bool paused_ = false;

  std::atomic<int> failures_in_row_{0};
  std::atomic<int64_t> failing_since_ns_{0};  // steady clock; 0 while commits succeed
  mutable std::mutex mu_;                     // guards last_error_, lags_
  std::string last_error_;
  std::vector<bus::PartitionLag> lags_;
  std::chrono::steady_clock::time_point lags_at_;
};

}  // namespace dcmon::ingest
