// The exactly-once loader: Kafka → decode → DuckDB. It polls a batch, decodes each record, drops
// exact re-sends within an event-time window (when one is set), and commits the good rows, the
// rejects (with their reasons) and the next offset of every partition in one DuckDB transaction.
// Two threads share the work: the caller's thread polls and decodes the next batch while the
// loader's commit thread commits the previous one, at most one batch in flight; when the next
// batch is ready and the commit is not, the caller's thread waits (back-pressure: it stops
// polling, so librdkafka's bounded queue fills and fetching stops). A batch closes at
// batch_records rows (a backlog), or after batch_time, or once the consumer has caught up and the
// commit thread is free, after live_batch_time (live data lands within a commit or two). It reads
// the partitions of its `membership` directly (no group rebalancing: a loader killed and started
// again reads at once), each starting where the store says (where Kafka's committed offset says
// for partitions the store has never held), so a crash anywhere re-reads exactly what was not
// committed. After each commit, on the caller's thread: the on_commit hook, the dead letters to
// the rejects topic, and Kafka's copy of the offsets (for lag tools and hand-off). When a store
// commit fails, the batch decoded meanwhile is dropped too, the partitions are paused and rewound
// to the failed batch's start, and the loader backs off before it tries again.
//
// One thread calls RunOnce() and Close(); counters(), healthy(), last_error() and partition_lags()
// may be read from any thread.
//
//   auto loader = Loader::Create(kafka, *db, {.group = "dcmon-loader"});
//   while (!stop) (*loader)->RunOnce();
//   (*loader)->Close();   // settles the batch in flight
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bus/consumer.h"
#include "bus/producer.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/record_json.h"
#include "core/status.h"
#include "ingest/dedup_window.h"
#include "store/duckdb.h"
#include "store/retention.h"
#include "store/rollups_hourly.h"
#include "store/writer.h"

namespace dcmon::ingest {

struct LoaderOptions {
  std::string group = "dcmon-loader";  // Kafka group id of the offsets' copy in Kafka
  // Which partitions this loader reads (loader.member of loader.members): loaders with their own
  // stores split the partitions by running with the same `members` and each its own `member`.
  bus::Membership membership;
  // A batch closes once one table has this many of its rows (a record is one row, a line-protocol
  // point one per field), or before an NDJSON message that would take a table past it ... (two of
  // the store's row groups, 122,880: a backlog batch fills one and nearly a second, which DuckDB
  // writes as row groups at commit; below one row group it copied the rows once more at commit and
  // logged them, and rows past a bound were a small row group that checkpoints rewrote:
  // docs/benchmarks.md)
  size_t batch_records = 2 * store::Database::kRowGroupRows;
  std::chrono::milliseconds batch_time{200};  // ... or after this long ...
  // ... or, once the consumer has caught up and no commit is in flight, after this long (live
  // data).
  std::chrono::milliseconds live_batch_time{50};
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
// loader.batch_records, loader.dedup_window (a duration: "10m", "90s", "0" for off), and
// store::RetentionOptionsFrom's; on_commit is the caller's.
// Errors name the key, the value and its origin.
Result<LoaderOptions> LoaderOptionsFrom(const Config& config);

// How long the loader's next poll for a batch waits for messages: with a commit in flight, 1–5 ms,
// so that its end is seen soon; with records in hand and no backlog, no longer than to the live
// deadline; otherwise to the batch's deadline (in a backlog, a wait of 0 past the live deadline
// would spin on an empty queue while the fetcher catches up, taking a core from it and the commit).
std::chrono::steady_clock::duration PollWait(std::chrono::steady_clock::time_point now,
                                             std::chrono::steady_clock::time_point deadline,
                                             std::chrono::steady_clock::time_point live_deadline,
                                             bool in_flight, bool polled, bool backlog);

// Whether a lag of `behind_messages` is a backlog: more than a batch's rows waiting, at
// `rows_per_message` (a framed message holds hundreds of records, a points message thousands of
// rows; counted as one row each, the simulator's four-day backlog looked live).
bool IsBacklog(int64_t behind_messages, double rows_per_message, size_t batch_records);

class Loader : public bus::AssignmentListener {
 public:
  static Result<std::unique_ptr<Loader>> Create(const bus::KafkaConfig& kafka, store::Database& db,
                                                LoaderOptions options);

  // Closes first.
  ~Loader() override;

  // Polls and decodes one batch while the previous one commits, settles that commit (its hooks run
  // here), and hands the new batch to the commit thread; with nothing to read, it settles the batch
  // in flight and returns. Returns the first error met: a failed commit leaves nothing half-stored,
  // and both batches are read again after the back-off, during which RunOnce() waits (at most
  // batch_time per call) and returns ok.
  Status RunOnce();
  // Settles the batch in flight, commits nothing more to the store, waits briefly for dead letters
  // in flight, sends Kafka's copy of the offsets once more if it was refused, and stops reading.
  Status Close();

  const LoaderCounters& counters() const { return counters_; }
  const bus::ConsumerCounters& consumer_counters() const { return consumer_->counters(); }
  const bus::ProducerCounters& dead_letter_counters() const { return dead_letters_->counters(); }
  // The ingest_seq of the last row of the last settled commit; any thread.
  int64_t last_ingest_seq() const { return last_ingest_seq_.load(); }
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
  // What the batch in hand adds to the counters once it is committed.
  struct Pending {
    int64_t duplicates = 0;
    int64_t late = 0, late_max = 0, late_last = 0;
    int64_t delay_max = INT64_MIN, delay_last = 0;
  };
  // A reject's copy for the rejects topic: the message as received.
  struct DeadLetter {
    size_t reject;  // index in batch.rejects
    std::string key, value;
  };
  // One batch on its way: polled and decoded on the caller's thread, then committed on the commit
  // thread while the other slot is decoded. Reused batch after batch, so memory is bounded by
  // batch_records (twice) whatever happens downstream, and decoded records reuse their strings.
  struct Slot {
    bus::Batch messages;  // of the poll being decoded; released once decoded
    size_t polled = 0;    // messages taken into this batch
    bool full = false;    // stopped before a message that would take it past batch_records
    store::WriteBatch batch;
    size_t records = 0;  // batch.records[0, records) are this batch's; the rest are spare buffers
    // Rows for each table the batch appends to (sensor_facts, cooling_facts, metric_facts): it
    // closes when one holds batch_records.
    std::array<size_t, 3> table_rows{};
    size_t rows() const { return *std::max_element(table_rows.begin(), table_rows.end()); }
    size_t max_message_rows = 0;  // the most rows one message held (points, or framed records)
    std::vector<DeadLetter> dead_letters;  // of the Kafka rejects
    // First and next offset of each partition in the batch.
    std::map<std::pair<std::string, int32_t>, std::pair<int64_t, int64_t>> spans;
    Pending pending;
    void Clear();
  };

  Loader() = default;
  Status SeedDedupWindow();
  // Sets the offset of each partition the store holds to the stored one.
  Status ApplyStoredOffsets(std::vector<bus::PartitionOffset>& partitions);
  // Decodes slot.messages from message `from` on into slot.batch, dropping re-sends; staged in
  // dedup_ until the commit. `bounded`: stops before a message once the batch holds batch_records
  // rows. Returns the index of the first message not decoded.
  size_t Decode(Slot& slot, size_t from, int64_t now_micros, bool bounded);
  // Seeks the partitions of slot.messages[from, end) back to their first message there, so that
  // the next batch reads them.
  Status ReturnMessages(const Slot& slot, size_t from);
  // Seals the slot (offsets, dedup keys) and hands it to the commit thread.
  void StartCommit(Slot& slot, int64_t now_micros);
  // True once the commit in flight has ended, waiting up to `wait` for it.
  bool CommitDone(std::chrono::steady_clock::duration wait = {});
  // Blocks until the commit thread is idle (the writer's connection is free).
  void WaitCommit();
  // Waits for the batch in flight, if any, and finishes it: OnCommitted or BackOff.
  Status Settle();
  void CommitLoop();
  void OnCommitted(Slot& slot, const store::CommitStats& stats);
  // After a failed commit: drop the batch being decoded, pause every partition and plan the rewind.
  Status BackOff(const Status& failure, const Slot& failed);
  // After the back-off: rewind and resume.
  Status Retry();
  // For healthy() and last_error().
  void RecordFailure(const Status& failure);
  void ProduceDeadLetters(const Slot& slot);
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
  std::array<Slot, 2> slots_;
  size_t decoding_ = 0;        // slots_[decoding_] is decoded next
  Slot* in_flight_ = nullptr;  // handed to the commit thread and not yet settled
  size_t message_rows_ = 1;    // the most rows one message held in the last batch closed
  // Rows per message in the last batch closed: a lag counts messages, and a framed message or a
  // points message holds many rows.
  double rows_per_message_ = 1;
  // The writer's is the commit thread's while a batch is in flight.
  std::atomic<int64_t> last_ingest_seq_{0};

  // The commit thread and its hand-over: one job at a time, guarded by commit_mu_.
  std::thread commit_thread_;
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  const store::WriteBatch* commit_job_ = nullptr;
  int64_t commit_now_ = 0;
  std::optional<Result<store::CommitStats>> commit_result_;
  bool commit_stop_ = false;

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
  // The last lag snapshot, in messages, at rows_per_message_, was more than batch_records rows.
  bool backlog_ = false;
  bool closed_ = false;  // Close() ran
};

}  // namespace dcmon::ingest
