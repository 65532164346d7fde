#include "ingest/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "core/log.h"
#include "core/time.h"
#include "ingest/points_sink.h"

namespace dcmon::ingest {
namespace {

// In reject_messages_: a reject that needs no dead letter.
constexpr size_t kNoDeadLetter = SIZE_MAX;

int64_t SteadyNanos() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

}  // namespace

Status LoaderOptions::Validate() const {
  if (group.empty()) return InvalidArgument("loader: group must not be empty");
  if (batch_records == 0) return InvalidArgument("loader: batch_records must be > 0");
  if (batch_time.count() <= 0) return InvalidArgument("loader: batch_time must be > 0");
  if (Status s = membership.Validate(); !s.ok()) return s.WithPrefix("loader: ");
  if (dedup_window.count() < 0) return InvalidArgument("loader: dedup_window must be >= 0");
  if (retry_backoff.count() <= 0 || retry_backoff_max < retry_backoff)
    return InvalidArgument("loader: need 0 < retry_backoff <= retry_backoff_max");
  if (unhealthy_failures < 1) return InvalidArgument("loader: unhealthy_failures must be >= 1");
  if (Status s = hourly_rollups.Validate(); !s.ok()) return s.WithPrefix("loader: ");
  return Status::Ok();
}

Result<LoaderOptions> LoaderOptionsFrom(const Config& config) {
  LoaderOptions o;
  o.group = config.Get("loader.group").value_or(o.group);
  Result<int64_t> members = config.GetInt("loader.members", o.membership.members, 1, 100000);
  if (!members.ok()) return members.status();
  o.membership.members = static_cast<int>(*members);
  Result<int64_t> member = config.GetInt("loader.member", o.membership.member, 0, *members - 1);
  if (!member.ok()) return member.status();
  o.membership.member = static_cast<int>(*member);
  if (std::optional<std::string> window = config.Get("loader.dedup_window")) {
    Result<std::chrono::microseconds> d = ParseDuration(*window);
    if (!d.ok()) {
      return d.status().WithPrefix(
          fmt::format("loader.dedup_window ({}): ", config.Origin("loader.dedup_window")));
    }
    o.dedup_window = *d;
  }
  Result<store::RetentionOptions> retention = store::RetentionOptionsFrom(config);
  if (!retention.ok()) return retention.status();
  o.retention = *retention;
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

Result<std::unique_ptr<Loader>> Loader::Create(const bus::KafkaConfig& kafka, store::Database& db,
                                               LoaderOptions options) {
  if (Status s = options.Validate(); !s.ok()) return s;
  std::unique_ptr<Loader> l(new Loader());
  l->options_ = std::move(options);
  l->kafka_ = kafka;
  l->dedup_ = DedupWindow(l->options_.dedup_window);
  Result<std::unique_ptr<store::Writer>> writer = store::Writer::Create(db);
  if (!writer.ok()) return writer.status();
  l->writer_ = std::move(*writer);
  l->retention_ = std::make_unique<store::Retention>(l->options_.retention);
  l->hourly_rollups_ = std::make_unique<store::HourlyRollups>(l->options_.hourly_rollups);
  if (Status s = l->SeedDedupWindow(); !s.ok()) return s;
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(kafka);
  if (!producer.ok()) return producer.status();
  l->dead_letters_ = std::move(*producer);
  // A dead letter that cannot be queued within this long is logged and left in `rejects` only: the
  // loader must not stall on the side channel.
  l->dead_letters_->enqueue_timeout = std::chrono::milliseconds(1000);
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(
      kafka, l->options_.group,
      {kafka.sensors_topic, kafka.cooling_topic, kafka.metrics_topic, kafka.rejects_topic}, l.get(),
      l->options_.membership);
  if (!consumer.ok()) return consumer.status();
  l->consumer_ = std::move(*consumer);
  return l;
}

// The stored rows within the window of their device's newest event, so that a re-send right after
// a restart is caught too.
Status Loader::SeedDedupWindow() {
  Result<store::QueryResult> r = writer_->connection().Query(fmt::format(
      R"sql(
SELECT r.device_id, r.measurement_type, epoch_us(r.event_time)
FROM sensor_readings r JOIN devices d USING (device_id)
WHERE r.event_time >= d.last_seen - to_microseconds({0})
UNION ALL
SELECT r.system_id, '', epoch_us(r.event_time)
FROM cooling_metrics r JOIN devices d ON d.device_id = r.system_id
WHERE r.event_time >= d.last_seen - to_microseconds({0}))sql",
      options_.dedup_window.count()));
  if (!r.ok()) return r.status().WithPrefix("loader: seeding the re-send window: ");
  for (size_t i = 0; i < r->rows(); ++i) dedup_.Add(*r->Text(0, i), *r->Text(1, i), r->Int64(2, i));
  Logger("ingest")->info("re-send window seeded with {} stored record(s)", dedup_.size());
  return Status::Ok();
}

Status Loader::ApplyStoredOffsets(std::vector<bus::PartitionOffset>& partitions) {
  Result<std::vector<store::StoredOffset>> stored = writer_->Offsets();
  if (!stored.ok()) return stored.status().WithPrefix("loader: reading stored offsets: ");
  for (bus::PartitionOffset& p : partitions) {
    for (const store::StoredOffset& s : *stored) {
      if (s.topic == p.topic && s.partition == p.partition) p.offset = s.next_offset;
    }
  }
  return Status::Ok();
}

void Loader::OnAssigned(std::vector<bus::PartitionOffset>& partitions) {
  // A partition the store has never held keeps the group's committed offset: the previous owner
  // committed it to Kafka after its own store commit, so that is where this store takes over.
  if (Status s = ApplyStoredOffsets(partitions); !s.ok()) {
    // Without the store's positions no start is safe: RunOnce() stores nothing more and reports the
    // error.
    assign_error_ = s;
  }
}

Status Loader::RunOnce() {
  if (!assign_error_.ok()) {
    // Fatal for this Loader (it must be created again), reported once per batch_time.
    RecordFailure(assign_error_);
    std::this_thread::sleep_for(options_.batch_time);
    return assign_error_;
  }
  dead_letters_->Poll();
  RefreshLags();
  if (paused_) {
    const auto now = std::chrono::steady_clock::now();
    if (now < retry_at_) {
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(retry_at_ - now, options_.batch_time));
      return Status::Ok();
    }
    if (Status s = Retry(); !s.ok()) return s;
  }
  messages_.Clear();
  batch_.Clear();
  reject_messages_.clear();
  spans_.clear();
  pending_ = {};
  // What the consumer met (a broker away, a topic unknown) is reported after the batch: the
  // messages in hand are valid, and dropping them would skip them.
  Status polled;
  const auto deadline = std::chrono::steady_clock::now() + options_.batch_time;
  while (messages_.size() < options_.batch_records) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    Status s = consumer_->Poll(options_.batch_records - messages_.size(), left, messages_);
    if (polled.ok()) polled = std::move(s);
  }
  if (!assign_error_.ok()) return assign_error_;
  if (messages_.empty()) return polled;

  const int64_t now = NowMicros();
  Decode(now);
  const auto commit_start = std::chrono::steady_clock::now();
  Result<store::CommitStats> stats = writer_->Commit(batch_, now);
  commit_seconds_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count());
  if (!stats.ok()) return BackOff(stats.status());
  OnCommitted(*stats);
  return polled;
}

void Loader::Decode(int64_t now_micros) {
  decltype(spans_)::iterator span = spans_.end();
  for (size_t i = 0; i < messages_.size(); ++i) {
    const bus::Batch::View m = messages_.message(i);
    if (span == spans_.end() || span->first.second != m.partition || span->first.first != m.topic) {
      span = spans_.try_emplace({std::string(m.topic), m.partition}, m.offset, m.offset).first;
    }
    span->second.second = m.offset + 1;
    // HTTP ingest's points and rejects; a malformed points message is a reject like a bad record.
    Status http;
    if (IsHttpTopic(kafka_, m.topic)) {
      http = TakeHttpMessage(kafka_, messages_, i, batch_);
      // HTTP's rejects are on the rejects topic already: no dead letter for them.
      reject_messages_.resize(batch_.rejects.size(), kNoDeadLetter);
      if (http.ok()) continue;
    }
    Result<Record> r = http.ok() ? decoder_.Decode(m.value) : Result<Record>(http);
    if (!r.ok()) {
      batch_.rejects.push_back({"kafka", fmt::format("{}/{}@{}", m.topic, m.partition, m.offset),
                                r.status().message(), std::string(m.value.substr(0, 64 * 1024))});
      reject_messages_.push_back(i);
      continue;
    }
    const auto* sensor = std::get_if<SensorReading>(&*r);
    const int64_t event =
        sensor ? sensor->timestamp_micros : std::get<CoolingMetric>(*r).timestamp_micros;
    const DedupWindow::Seen seen =
        dedup_.Stage(DeviceIdOf(*r), sensor ? sensor->measurement_type : "", event);
    if (seen.duplicate) {
      ++pending_.duplicates;
      continue;
    }
    if (seen.behind_micros > 0) {
      ++pending_.late;
      pending_.late_last = seen.behind_micros;
      pending_.late_max = std::max(pending_.late_max, seen.behind_micros);
    }
    pending_.delay_last = now_micros - event;
    pending_.delay_max = std::max(pending_.delay_max, pending_.delay_last);
    batch_.records.push_back(std::move(*r));
    batch_.origins.push_back({std::string(m.topic), m.partition, m.offset});
  }
  for (const auto& [tp, offsets] : spans_)
    batch_.offsets.push_back({tp.first, tp.second, offsets.second});
}

void Loader::OnCommitted(const store::CommitStats& stats) {
  dedup_.Commit();
  failures_in_row_ = 0;
  failing_since_ns_ = 0;
  backoff_ = std::chrono::milliseconds(0);
  // A restart is visible in the log as soon as it stores again (tests/crash_test.sh waits for it).
  if (counters_.batches.fetch_add(1) == 0) {
    Logger("ingest")->info("first batch stored: {} record(s), {} reject(s)",
                           stats.sensor_rows + stats.cooling_rows, stats.rejects);
  }
  counters_.stored.fetch_add(stats.sensor_rows + stats.cooling_rows);
  counters_.rejected.fetch_add(stats.rejects);
  counters_.duplicates.fetch_add(pending_.duplicates);
  if (pending_.late > 0) {
    counters_.late.fetch_add(pending_.late);
    counters_.late_last_micros = pending_.late_last;
    counters_.late_max_micros = std::max(counters_.late_max_micros.load(), pending_.late_max);
  }
  if (!batch_.records.empty()) {
    counters_.delay_last_micros = pending_.delay_last;
    counters_.delay_max_micros = std::max(counters_.delay_max_micros.load(), pending_.delay_max);
  }
  if (options_.on_commit) options_.on_commit(batch_, stats);
  // Expired days go between batches, on the writer's connection; a failure is retried later and
  // never holds up loading.
  Result<store::RetentionStats> expired = retention_->RunDue(writer_->connection(), NowMicros());
  if (!expired.ok()) {
    Logger("ingest")->warn("retention: {}", expired.status().message());
  } else if (expired->deleted_rows > 0) {
    Logger("ingest")->info("retention: {} expired rows deleted, {} exported to {} Parquet file(s)",
                           expired->deleted_rows, expired->exported_rows, expired->files);
  }
  Result<int64_t> hourly = hourly_rollups_->RunDue(writer_->connection(), NowMicros());
  if (!hourly.ok()) Logger("ingest")->warn("{}", hourly.status().message());
  ProduceDeadLetters();
  // Kafka's copy of the offsets: for lag tools, and where a loader with another store takes over a
  // partition. This store already holds the truth, so a failure here is logged, and the offsets
  // are sent again with the next commit or on Close().
  for (const store::StoredOffset& o : batch_.offsets)
    kafka_pending_[{o.topic, o.partition}] = o.next_offset;
  CommitToKafka();
}

void Loader::CommitToKafka() {
  std::vector<bus::PartitionOffset> commit;
  for (const auto& [tp, next] : kafka_pending_) commit.push_back({tp.first, tp.second, next});
  if (Status s = consumer_->Commit(commit); !s.ok()) {
    Logger("ingest")->warn("{} ({} partition(s) to send again)", s.message(), commit.size());
    return;
  }
  kafka_pending_.clear();
}

// Dead letters go out only after the store commit, so a batch that fails to commit (and is read
// again) sends none. The `rejects` table is the exactly-once record; the topic is a copy for other
// consumers, at most once per stored reject: the idempotent producer never duplicates, but a crash
// between the store commit and the broker's ack loses the copy (that offset is never read again),
// and a delivery that fails is counted in dead_letter_counters().failed.
void Loader::ProduceDeadLetters() {
  for (size_t j = 0; j < batch_.rejects.size(); ++j) {
    if (reject_messages_[j] == kNoDeadLetter) continue;
    const store::RejectRow& reject = batch_.rejects[j];
    const bus::Batch::View m = messages_.message(reject_messages_[j]);
    const bus::Header headers[] = {{kRejectReasonHeader, reject.reason},
                                   {kRejectPositionHeader, reject.position}};
    if (Status s = dead_letters_->Produce(kafka_.rejects_topic, m.key, m.value, headers); !s.ok()) {
      Logger("ingest")->warn("dead letter {} kept in the store only: {}", reject.position,
                             s.message());
      continue;
    }
    counters_.dead_letters.fetch_add(1);
  }
}

Status Loader::BackOff(const Status& failure) {
  dedup_.Drop();
  counters_.commit_failures.fetch_add(1);
  RecordFailure(failure);
  backoff_ = backoff_.count() == 0 ? options_.retry_backoff
                                   : std::min(backoff_ * 2, options_.retry_backoff_max);
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  // Nothing of the batch was kept: its partitions go back to its first offsets when the back-off
  // ends. Until then every partition is paused, so fetching does not fill memory meanwhile.
  rewind_.clear();
  for (const auto& [tp, offsets] : spans_) rewind_.push_back({tp.first, tp.second, offsets.first});
  paused_ = true;
  const Status paused = consumer_->Pause(consumer_->Assignment());
  return Status(
      failure.code(),
      fmt::format("{}; nothing of the batch was kept, retrying in {} ms{}", failure.message(),
                  backoff_.count(), paused.ok() ? "" : " (" + paused.message() + ")"));
}

Status Loader::Retry() {
  if (Status s = consumer_->Seek(rewind_); !s.ok()) {
    // Reading on without the rewind would skip the failed batch: stay paused and try again later.
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    return s.WithPrefix("loader: rewinding after a failed commit: ");
  }
  rewind_.clear();
  paused_ = false;
  return consumer_->Resume(consumer_->Assignment());
}

void Loader::RecordFailure(const Status& failure) {
  if (failures_in_row_.fetch_add(1) == 0) failing_since_ns_ = SteadyNanos();
  std::lock_guard lock(mu_);
  last_error_ = failure.message();
}

bool Loader::healthy() const {
  const int failures = failures_in_row_.load();
  if (failures == 0) return true;
  if (failures >= options_.unhealthy_failures) return false;
  return std::chrono::nanoseconds(SteadyNanos() - failing_since_ns_.load()) <
         options_.unhealthy_after;
}

std::string Loader::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

std::vector<bus::PartitionLag> Loader::partition_lags() const {
  std::lock_guard lock(mu_);
  return lags_;
}

void Loader::RefreshLags() {
  const auto now = std::chrono::steady_clock::now();
  if (now - lags_at_ < options_.lag_interval) return;
  std::vector<bus::PartitionLag> lags = consumer_->Lag();
  std::lock_guard lock(mu_);
  lags_ = std::move(lags);
  lags_at_ = now;
}

Loader::~Loader() { (void)Close(); }

Status Loader::Close() {
  // Create() may have failed half-way.
  if (dead_letters_) {
    if (Status s = dead_letters_->Flush(std::chrono::seconds(5)); !s.ok())
      Logger("ingest")->warn("dead letters: {}", s.message());
  }
  if (!consumer_) return Status::Ok();
  if (!kafka_pending_.empty()) CommitToKafka();
  return consumer_->Close();
}

void Loader::WriteMetrics(Exposition& e) const {
  const LoaderCounters& c = counters_;
  e.Counter("dcmon_loader_records_total", "Records the loader handled, by outcome",
            {{"outcome", "stored"}}, static_cast<double>(c.stored.load()));
  e.Counter("dcmon_loader_records_total", "Records the loader handled, by outcome",
            {{"outcome", "rejected"}}, static_cast<double>(c.rejected.load()));
  e.Counter("dcmon_loader_records_total", "Records the loader handled, by outcome",
            {{"outcome", "duplicate"}}, static_cast<double>(c.duplicates.load()));
  e.Counter("dcmon_loader_dead_letters_total", "Rejects produced to the dead-letter topic", {},
            static_cast<double>(c.dead_letters.load()));
  e.Counter("dcmon_loader_late_records_total",
            "Stored records that arrived behind their device's newest event time", {},
            static_cast<double>(c.late.load()));
  e.Counter("dcmon_loader_batches_total", "Batches committed to the store", {},
            static_cast<double>(c.batches.load()));
  e.Counter("dcmon_loader_commit_failures_total", "Batches the store refused (retried)", {},
            static_cast<double>(c.commit_failures.load()));
  e.Counter("dcmon_kafka_lost_records_total",
            "Offsets that fell out of the broker's retention before they were loaded", {},
            static_cast<double>(consumer_counters().lost.load()));
  for (const bus::PartitionLag& p : partition_lags()) {
    if (p.lag < 0) continue;  // not known yet
    e.Gauge("dcmon_kafka_consumer_lag", "Records in a partition not yet loaded",
            {{"topic", p.topic}, {"partition", std::to_string(p.partition)}},
            static_cast<double>(p.lag));
  }
  e.Histogram("dcmon_loader_commit_seconds", "Time to commit one batch to the store", {},
              commit_latency());
}

}  // namespace dcmon::ingest
