#include "ingest/loader.h"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <iterator>
#include <new>
#include <thread>

#include "bus/record_messages.h"
#include "core/log.h"
#include "core/time.h"
#include "ingest/points_sink.h"

namespace dcmon::ingest {
namespace {

// The most messages one poll takes: the batch fills poll by poll, each poll's messages released
// once decoded, so that a batch of batch_records pins no more than this many of librdkafka's.
constexpr size_t kPollMessages = 10000;
// How long waking the fetchers may wait for the brokers' answers (a few round trips on a healthy
// link; a broker that is down holds the loader no longer than this, at most every 100 ms).
constexpr std::chrono::milliseconds kWakeTimeout{20};

// Hands the free pages of every malloc arena back to the system. A backlog's batch frees tens of
// MB across threads' arenas (librdkafka's fetched buffers, the commit's), which glibc keeps
// mapped; trimmed once per full batch, a few ms, peak RSS is lower (docs/benchmarks.md).
void ReleaseFreePages() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

int64_t SteadyNanos() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

}  // namespace

Status LoaderOptions::Validate() const {
  if (group.empty()) return InvalidArgument("loader: group must not be empty");
  if (batch_records == 0) return InvalidArgument("loader: batch_records must be > 0");
  if (batch_time.count() <= 0) return InvalidArgument("loader: batch_time must be > 0");
  if (live_batch_time.count() < 0) return InvalidArgument("loader: live_batch_time must be >= 0");
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
  Result<int64_t> batch =
      config.GetInt("loader.batch_records", static_cast<int64_t>(o.batch_records), 1, 10000000);
  if (!batch.ok()) return batch.status();
  o.batch_records = static_cast<size_t>(*batch);
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
  l->last_ingest_seq_ = l->writer_->last_ingest_seq();
  l->retention_ = std::make_unique<store::Retention>(l->options_.retention);
  l->hourly_rollups_ = std::make_unique<store::HourlyRollups>(l->options_.hourly_rollups);
  if (Status s = l->SeedDedupWindow(); !s.ok()) return s;
  // Room for a bounded batch, reserved once: each record table may hold batch_records (rows() is
  // the larger), and growing by doubling copied a slot's records while both copies were resident
  // (a backlog's heap peak 348 -> 258 MB, docs/benchmarks.md). The pages are touched only as
  // records are decoded into them. It is only a head start: a larger batch grows as before, and
  // so does one whose room could not be had.
  const size_t room = std::min<size_t>(l->options_.batch_records * 2, size_t{1} << 18);
  for (Slot& slot : l->slots_) {
    try {
      slot.batch.records.reserve(room);
      slot.batch.origins.reserve(room);
    } catch (const std::bad_alloc&) {
      break;
    }
  }
  // A dead letter that cannot be queued within this long is logged and left in `rejects` only: the
  // loader must not stall on the side channel.
  bus::KafkaConfig dead_letters = kafka;
  dead_letters.enqueue_timeout = std::chrono::milliseconds(1000);
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(dead_letters);
  if (!producer.ok()) return producer.status();
  l->dead_letters_ = std::move(*producer);
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(
      kafka, l->options_.group,
      {kafka.sensors_topic, kafka.cooling_topic, kafka.metrics_topic, kafka.rejects_topic}, l.get(),
      l->options_.membership);
  if (!consumer.ok()) return consumer.status();
  l->consumer_ = std::move(*consumer);
  l->commit_thread_ = std::thread([loader = l.get()] { loader->CommitLoop(); });
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
  // The writer's connection is the commit thread's while a batch is in flight. That batch holds
  // none of these partitions (they were not ours), so its outcome does not change their offsets.
  WaitCommit();
  // A partition the store has never held keeps the group's committed offset: the previous owner
  // committed it to Kafka after its own store commit, so that is where this store takes over.
  if (Status s = ApplyStoredOffsets(partitions); !s.ok()) {
    // Without the store's positions no start is safe: RunOnce() stores nothing more and reports the
    // error.
    assign_error_ = s;
  }
}

void Loader::Slot::Clear() {
  full = false;
  messages.Clear();
  polled = 0;
  // batch.records stays: the next batch decodes into its records, reusing their strings' buffers.
  batch.points.clear();
  batch.origins.clear();
  batch.rejects.clear();
  batch.offsets.clear();
  records = 0;
  table_rows = {};
  max_message_rows = 0;
  dead_letters.clear();
  spans.clear();
  pending = {};
}

bool IsBacklog(int64_t behind_messages, double rows_per_message, size_t batch_records) {
  return static_cast<double>(behind_messages) * rows_per_message >
         static_cast<double>(batch_records);
}

std::chrono::steady_clock::duration PollWait(std::chrono::steady_clock::time_point now,
                                             std::chrono::steady_clock::time_point deadline,
                                             std::chrono::steady_clock::time_point live_deadline,
                                             bool in_flight, bool polled, bool backlog) {
  const auto wait = deadline - now;
  if (in_flight) {
    return std::clamp<std::chrono::steady_clock::duration>(wait, std::chrono::milliseconds(1),
                                                           std::chrono::milliseconds(5));
  }
  if (polled && !backlog) {
    return std::min(wait, std::max<std::chrono::steady_clock::duration>(live_deadline - now, {}));
  }
  return wait;
}

Status Loader::RunOnce() {
  if (!assign_error_.ok()) {
    // Fatal for this Loader (it must be created again), reported once per batch_time.
    (void)Settle();
    RecordFailure(assign_error_);
    std::this_thread::sleep_for(options_.batch_time);
    return assign_error_;
  }
  dead_letters_->Poll();
  RefreshLags();
  if (paused_) {  // nothing is in flight while paused: BackOff settled it
    const auto now = std::chrono::steady_clock::now();
    if (now < retry_at_) {
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(retry_at_ - now, options_.batch_time));
      return Status::Ok();
    }
    if (Status s = Retry(); !s.ok()) return s;
  }
  Slot& next = slots_[decoding_];
  next.Clear();
  // What the consumer met (a broker away, a topic unknown) is reported after the batch: the
  // messages in hand are valid, and dropping them would skip them.
  Status polled;
  const auto opened = std::chrono::steady_clock::now();
  const auto deadline = opened + options_.batch_time;
  const auto live_deadline = opened + std::min(options_.live_batch_time, options_.batch_time);
  bool caught_up = false;
  while (next.rows() < options_.batch_records && !next.full) {
    if (in_flight_ != nullptr && CommitDone()) {
      // Its hooks run now rather than when this batch closes; a failure drops this batch too.
      if (Status s = Settle(); !s.ok()) return s;
    }
    const auto now = std::chrono::steady_clock::now();
    // While a commit is in flight this batch could not start anyway: it keeps filling (in a
    // backlog, up to batch_records, so that each commit's fixed costs are shared by more rows).
    if (in_flight_ == nullptr && now >= deadline) break;
    if (in_flight_ == nullptr && caught_up && next.polled > 0 && now >= live_deadline) break;
    const auto wait =
        PollWait(now, deadline, live_deadline, in_flight_ != nullptr, next.polled > 0, backlog_);
    // No more messages than the rows left at the most rows one message has held lately (a points
    // message holds thousands of rows, records one each), and no more than kPollMessages at once.
    const size_t per_message = std::max(message_rows_, next.max_message_rows);
    const size_t want =
        std::clamp<size_t>((options_.batch_records - next.rows()) / per_message, 1, kPollMessages);
    Status s =
        consumer_->Poll(want, std::chrono::ceil<std::chrono::milliseconds>(wait), next.messages);
    if (polled.ok()) polled = std::move(s);
    if (!assign_error_.ok()) return assign_error_;
    // A short poll in a backlog is the fetcher behind, not the end of the topic: a batch is not
    // closed early for it while the last lag snapshot says more than a batch is waiting.
    caught_up = next.messages.size() < want && !backlog_;
    // Short in a backlog: the fetchers may have stopped at the prefetch's bound while this thread
    // waited for a commit, and librdkafka would look at the queue again only up to 1 s later.
    if (next.messages.size() < want && backlog_) consumer_->WakeFetcher(kWakeTimeout);
    // librdkafka may return an empty poll before its timeout: with a commit in flight, the rest of
    // the wait is for the commit, so that this thread does not spin on the queue.
    if (next.messages.empty() && in_flight_ != nullptr) CommitDone(wait);
    next.polled += next.messages.size();
    const size_t stopped = Decode(next, 0, NowMicros(), /*bounded=*/true);
    if (stopped < next.messages.size()) {
      // Full within the poll (more rows per message than lately): the messages not decoded are
      // read again for the next batch. Were the seek refused, skipping them would lose them, so
      // they join this batch instead.
      if (Status s = ReturnMessages(next, stopped); !s.ok()) {
        Logger("ingest")->warn("{}: the batch takes {} message(s) past its bound", s.message(),
                               next.messages.size() - stopped);
        Decode(next, stopped, NowMicros(), /*bounded=*/false);
      }
    }
    // Decoded, the messages are needed no more (the dead letters keep copies): each one pins
    // librdkafka's buffer of its whole fetched message set, so they go now rather than when the
    // batch closes (peak RSS, docs/benchmarks.md).
    next.messages.Clear();
  }
  if (next.polled == 0) {
    if (Status s = Settle(); !s.ok()) return s;
    return polled;
  }
  // One batch in flight: this one waits for the commit thread (back-pressure).
  if (Status s = Settle(); !s.ok()) return s;
  StartCommit(next, NowMicros());
  decoding_ = 1 - decoding_;
  return polled;
}

size_t Loader::Decode(Slot& slot, size_t from, int64_t now_micros, bool bounded) {
  store::WriteBatch& batch = slot.batch;
  decltype(slot.spans)::iterator span = slot.spans.end();
  // A topic's messages share its name's storage (librdkafka's topic handle), so a run of messages
  // from one topic is recognised by the pointer, without comparing names per message.
  const char* topic = nullptr;
  bool http_topic = false;
  for (size_t i = from; i < slot.messages.size(); ++i) {
    if (bounded && slot.rows() >= options_.batch_records) return i;
    const bus::Batch::View m = slot.messages.message(i);
    const bool framed = bus::IsNdjsonFramed(slot.messages, i);
    // An NDJSON message that would take its table past the bound starts the next batch (it is read
    // again): the batch's rows stay within one row group. Its lines are counted only near the
    // bound, within the most rows a message has held lately.
    if (bounded && framed) {
      const size_t rows = slot.table_rows[m.topic == kafka_.cooling_topic ? 1 : 0];
      const size_t most = std::max(message_rows_, slot.max_message_rows);
      if (rows > 0 && rows + most > options_.batch_records &&
          rows + bus::CountNdjsonLines(m.value) > options_.batch_records) {
        slot.full = true;
        return i;
      }
    }
    const bool same_topic = m.topic.data() == topic;
    if (!same_topic) {
      topic = m.topic.data();
      http_topic = IsHttpTopic(kafka_, m.topic);
    }
    if (span == slot.spans.end() || span->first.second != m.partition ||
        (!same_topic && span->first.first != m.topic)) {
      span = slot.spans.try_emplace({std::string(m.topic), m.partition}, m.offset, m.offset).first;
    }
    span->second.second = m.offset + 1;
    // A reject (with a dead letter: `value` and the message's key) at the message's position, and
    // the line's within a framed message.
    auto reject = [&](std::string_view value, int64_t line, const Status& why) {
      std::string position = fmt::format("{}/{}@{}", m.topic, m.partition, m.offset);
      if (line > 0) fmt::format_to(std::back_inserter(position), " line {}", line);
      batch.rejects.push_back(
          {"kafka", std::move(position), why.message(), std::string(value.substr(0, 64 * 1024))});
      slot.dead_letters.push_back(
          {batch.rejects.size() - 1, std::string(m.key), std::string(value)});
    };
    // HTTP ingest's points and rejects; a malformed points message is a reject like a bad record.
    if (http_topic) {
      const size_t points = batch.points.size();
      const Status http = TakeHttpMessage(kafka_, slot.messages, i, batch);
      // HTTP's rejects are on the rejects topic already: no dead letter for them.
      size_t rows = 0;
      for (size_t p = points; p < batch.points.size(); ++p) rows += batch.points[p].fields.size();
      slot.table_rows[2] += rows;
      slot.max_message_rows = std::max(slot.max_message_rows, rows);
      if (!http.ok()) reject(m.value, 0, http);
      continue;
    }
    // Decodes one record of the message, `line` 0 for a message of one record.
    auto take = [&](std::string_view value, int64_t line) {
      // Decoded into the next spare record, whose strings keep their buffers from earlier batches.
      if (slot.records == batch.records.size()) batch.records.emplace_back();
      Record& record = batch.records[slot.records];
      if (Status decoded = decoder_.DecodeInto(value, record); !decoded.ok()) {
        reject(value, line, decoded);
        return true;
      }
      const auto* sensor = std::get_if<SensorReading>(&record);
      const int64_t event =
          sensor ? sensor->timestamp_micros : std::get<CoolingMetric>(record).timestamp_micros;
      const DedupWindow::Seen seen =
          dedup_.Stage(DeviceIdOf(record), sensor ? sensor->measurement_type : "", event);
      Pending& pending = slot.pending;
      if (seen.duplicate) {
        ++pending.duplicates;
        return true;
      }
      if (seen.behind_micros > 0) {
        ++pending.late;
        pending.late_last = seen.behind_micros;
        pending.late_max = std::max(pending.late_max, seen.behind_micros);
      }
      pending.delay_last = now_micros - event;
      pending.delay_max = std::max(pending.delay_max, pending.delay_last);
      ++slot.records;
      ++slot.table_rows[sensor ? 0 : 1];
      batch.origins.push_back({std::string(m.topic), m.partition, m.offset});
      return true;
    };
    if (!framed) {
      take(m.value, 0);
      continue;
    }
    // Several records: the batch's bound counts them all (the message is taken whole, and a bounded
    // batch only when they fit, above).
    const size_t before = slot.records;
    bus::ForEachNdjsonLine(m.value, take);
    slot.max_message_rows = std::max(slot.max_message_rows, slot.records - before);
  }
  return slot.messages.size();
}

Status Loader::ReturnMessages(const Slot& slot, size_t from) {
  // Each partition's messages are in offset order, so its first one not decoded is where it
  // continues.
  std::map<std::pair<std::string, int32_t>, int64_t> first;
  for (size_t i = from; i < slot.messages.size(); ++i) {
    const bus::Batch::View m = slot.messages.message(i);
    first.try_emplace({std::string(m.topic), m.partition}, m.offset);
  }
  std::vector<bus::PartitionOffset> seek;
  for (const auto& [tp, offset] : first) seek.push_back({tp.first, tp.second, offset});
  return consumer_->Seek(seek);
}

void Loader::StartCommit(Slot& slot, int64_t now_micros) {
  message_rows_ = std::max<size_t>(1, slot.max_message_rows);
  if (slot.polled > 0) {
    const size_t rows = slot.table_rows[0] + slot.table_rows[1] + slot.table_rows[2];
    rows_per_message_ = std::max(1.0, static_cast<double>(rows) / static_cast<double>(slot.polled));
  }
  // The spare records beyond this batch's go: the store takes the vector as it is.
  slot.batch.records.resize(slot.records);
  for (const auto& [tp, offsets] : slot.spans)
    slot.batch.offsets.push_back({tp.first, tp.second, offsets.second});
  dedup_.Seal();
  in_flight_ = &slot;
  std::lock_guard lock(commit_mu_);
  commit_job_ = &slot.batch;
  commit_now_ = now_micros;
  commit_cv_.notify_all();
}

bool Loader::CommitDone(std::chrono::steady_clock::duration wait) {
  std::unique_lock lock(commit_mu_);
  return commit_cv_.wait_for(lock, wait, [this] { return commit_result_.has_value(); });
}

void Loader::WaitCommit() {
  if (in_flight_ == nullptr) return;
  std::unique_lock lock(commit_mu_);
  commit_cv_.wait(lock, [this] { return commit_result_.has_value(); });
}

Status Loader::Settle() {
  if (in_flight_ == nullptr) return Status::Ok();
  Slot& slot = *std::exchange(in_flight_, nullptr);
  Result<store::CommitStats> stats = [this] {
    std::unique_lock lock(commit_mu_);
    commit_cv_.wait(lock, [this] { return commit_result_.has_value(); });
    Result<store::CommitStats> r = std::move(*commit_result_);
    commit_result_.reset();
    return r;
  }();
  if (!stats.ok()) {
    Status s = BackOff(stats.status(), slot);
    slot.Clear();
    return s;
  }
  OnCommitted(slot, *stats);
  slot.Clear();
  return Status::Ok();
}

// The writer's connection is this thread's from a job's hand-over to its result; the caller's
// thread uses it (offsets, retention) only while no job is in flight.
void Loader::CommitLoop() {
  std::unique_lock lock(commit_mu_);
  while (true) {
    commit_cv_.wait(lock, [this] { return commit_stop_ || commit_job_ != nullptr; });
    if (commit_job_ == nullptr) return;
    const store::WriteBatch& job = *std::exchange(commit_job_, nullptr);
    const int64_t now = commit_now_;
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    Result<store::CommitStats> stats = writer_->Commit(job, now);
    commit_seconds_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    lock.lock();
    commit_result_ = std::move(stats);
    commit_cv_.notify_all();
  }
}

void Loader::OnCommitted(Slot& slot, const store::CommitStats& stats) {
  dedup_.Commit();
  failures_in_row_ = 0;
  failing_since_ns_ = 0;
  backoff_ = std::chrono::milliseconds(0);
  const store::WriteBatch& batch = slot.batch;
  const Pending& pending = slot.pending;
  // A restart is visible in the log as soon as it stores again (tests/crash_test.sh waits for it).
  if (counters_.batches.fetch_add(1) == 0) {
    Logger("ingest")->info("first batch stored: {} record(s), {} reject(s)",
                           stats.sensor_rows + stats.cooling_rows, stats.rejects);
  }
  counters_.stored.fetch_add(stats.sensor_rows + stats.cooling_rows);
  if (stats.last_ingest_seq > 0) last_ingest_seq_ = stats.last_ingest_seq;
  counters_.rejected.fetch_add(stats.rejects);
  counters_.duplicates.fetch_add(pending.duplicates);
  if (pending.late > 0) {
    counters_.late.fetch_add(pending.late);
    counters_.late_last_micros = pending.late_last;
    counters_.late_max_micros = std::max(counters_.late_max_micros.load(), pending.late_max);
  }
  if (!batch.records.empty()) {
    counters_.delay_last_micros = pending.delay_last;
    counters_.delay_max_micros = std::max(counters_.delay_max_micros.load(), pending.delay_max);
  }
  if (options_.on_commit) options_.on_commit(batch, stats);
  // Expired days go between batches, on the writer's connection (free: nothing is in flight); a
  // failure is retried later and never holds up loading.
  Result<store::RetentionStats> expired = retention_->RunDue(writer_->connection(), NowMicros());
  if (!expired.ok()) {
    Logger("ingest")->warn("retention: {}", expired.status().message());
  } else if (expired->deleted_rows > 0) {
    Logger("ingest")->info("retention: {} expired rows deleted, {} exported to {} Parquet file(s)",
                           expired->deleted_rows, expired->exported_rows, expired->files);
  }
  Result<int64_t> hourly = hourly_rollups_->RunDue(writer_->connection(), NowMicros());
  if (!hourly.ok()) Logger("ingest")->warn("{}", hourly.status().message());
  ProduceDeadLetters(slot);
  if (slot.rows() >= options_.batch_records) ReleaseFreePages();
  // Kafka's copy of the offsets: for lag tools, and where a loader with another store takes over a
  // partition. This store already holds the truth, so a failure here is logged, and the offsets
  // are sent again with the next commit or on Close().
  for (const store::StoredOffset& o : batch.offsets)
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
void Loader::ProduceDeadLetters(const Slot& slot) {
  for (const DeadLetter& letter : slot.dead_letters) {
    const store::RejectRow& reject = slot.batch.rejects[letter.reject];
    const bus::Header headers[] = {{kRejectReasonHeader, reject.reason},
                                   {kRejectPositionHeader, reject.position}};
    if (Status s = dead_letters_->Produce(kafka_.rejects_topic, letter.key, letter.value, headers);
        !s.ok()) {
      Logger("ingest")->warn("dead letter {} kept in the store only: {}", reject.position,
                             s.message());
      continue;
    }
    counters_.dead_letters.fetch_add(1);
  }
}

Status Loader::BackOff(const Status& failure, const Slot& failed) {
  dedup_.Drop();
  counters_.commit_failures.fetch_add(1);
  RecordFailure(failure);
  backoff_ = backoff_.count() == 0 ? options_.retry_backoff
                                   : std::min(backoff_ * 2, options_.retry_backoff_max);
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  // Nothing of the batch was kept, and the one decoded meanwhile is dropped: their partitions go
  // back to their first offsets (the failed batch's where it has one) when the back-off ends. Until
  // then every partition is paused, so fetching does not fill memory meanwhile.
  Slot& decoding = slots_[decoding_];
  std::map<std::pair<std::string, int32_t>, int64_t> first;
  for (const Slot* slot : {&failed, static_cast<const Slot*>(&decoding)}) {
    for (const auto& [tp, offsets] : slot->spans) first.try_emplace(tp, offsets.first);
  }
  decoding.Clear();
  rewind_.clear();
  for (const auto& [tp, offset] : first) rewind_.push_back({tp.first, tp.second, offset});
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
  int64_t behind = 0;
  for (const bus::PartitionLag& p : lags) behind += std::max<int64_t>(0, p.lag);
  backlog_ = IsBacklog(behind, rows_per_message_, options_.batch_records);
  std::lock_guard lock(mu_);
  lags_ = std::move(lags);
  lags_at_ = now;
}

Loader::~Loader() { (void)Close(); }

Status Loader::Close() {
  // Once: the destructor closes too, and a second try at Kafka's copy of the offsets would wait
  // for a coordinator that did not answer the first.
  if (closed_) return Status::Ok();
  closed_ = true;
  if (Status s = Settle(); !s.ok()) Logger("ingest")->warn("closing: {}", s.message());
  if (commit_thread_.joinable()) {
    {
      std::lock_guard lock(commit_mu_);
      commit_stop_ = true;
      commit_cv_.notify_all();
    }
    commit_thread_.join();
  }
  // Create() may have failed half-way.
  if (dead_letters_) {
    if (Status s = dead_letters_->Flush(std::chrono::seconds(5)); !s.ok())
      Logger("ingest")->warn("dead letters: {}", s.message());
  }
  if (!consumer_) return Status::Ok();
  // Kafka's copy is for lag monitoring: not worth another wait for a coordinator that is silent.
  if (!kafka_pending_.empty() && !consumer_->coordinator_silent()) CommitToKafka();
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
  e.Counter("dcmon_kafka_fetcher_wakes_total",
            "Times the loader found the prefetch empty in a backlog and woke the fetchers", {},
            static_cast<double>(consumer_counters().fetcher_wakes.load()));
  for (const bus::PartitionLag& p : partition_lags()) {
    if (p.lag < 0) continue;  // not known yet
    e.Gauge("dcmon_kafka_consumer_lag",
            "Kafka messages (offsets) in a partition not yet loaded; an NDJSON message holds many "
            "records",
            {{"topic", p.topic}, {"partition", std::to_string(p.partition)}},
            static_cast<double>(p.lag));
  }
  e.Histogram("dcmon_loader_commit_seconds", "Time to commit one batch to the store", {},
              commit_latency());
}

}  // namespace dcmon::ingest
