#include "ingest/loader.h"

#include <fmt/format.h>

#include "core/log.h"

namespace dcmon::ingest {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<Loader>> Loader::Create(const bus::KafkaConfig& kafka, store::Database& db,
                                               LoaderOptions options) {
  std::unique_ptr<Loader> l(new Loader());
  l->options_ = std::move(options);
  Result<std::unique_ptr<store::Writer>> writer = store::Writer::Create(db);
  if (!writer.ok()) return writer.status();
  l->writer_ = std::move(*writer);
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(
      kafka, l->options_.group, {kafka.sensors_topic, kafka.cooling_topic}, l.get());
  if (!consumer.ok()) return consumer.status();
  l->consumer_ = std::move(*consumer);
  return l;
}

void Loader::OnAssigned(std::vector<bus::PartitionOffset>& partitions) {
  Result<std::vector<store::StoredOffset>> stored = writer_->Offsets();
  if (!stored.ok()) {
    // Without the store's positions no start is safe: RunOnce() stores nothing more and reports the
    // error.
    assign_error_ = stored.status().WithPrefix("loader: reading stored offsets: ");
    return;
  }
  for (bus::PartitionOffset& p : partitions) {
    for (const store::StoredOffset& s : *stored) {
      if (s.topic == p.topic && s.partition == p.partition) p.offset = s.next_offset;
    }
  }
}

void Loader::OnRevoked(const std::vector<bus::PartitionOffset>&) {
  // Every batch is committed before the next poll, so nothing is pending for revoked partitions;
  // records of theirs not yet committed were never part of a transaction and will be read by the
  // new owner.
}

Status Loader::RunOnce() {
  if (!assign_error_.ok()) return assign_error_;
  messages_.Clear();
  batch_.Clear();
  const auto deadline = std::chrono::steady_clock::now() + options_.batch_time;
  while (messages_.size() < options_.batch_records) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (Status s = consumer_->Poll(options_.batch_records - messages_.size(), left, messages_);
        !s.ok())
      return s;
  }
  if (messages_.empty()) return Status::Ok();

  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (size_t i = 0; i < messages_.size(); ++i) {
    const bus::Batch::View m = messages_.message(i);
    next[{std::string(m.topic), m.partition}] = m.offset + 1;
    Result<Record> r = decoder_.Decode(m.value);
    if (r.ok()) {
      batch_.records.push_back(std::move(*r));
      batch_.origins.push_back({std::string(m.topic), m.partition, m.offset});
    } else {
      batch_.rejects.push_back({"kafka", fmt::format("{}/{}@{}", m.topic, m.partition, m.offset),
                                r.status().message(), std::string(m.value.substr(0, 64 * 1024))});
    }
  }
  for (const auto& [tp, offset] : next) batch_.offsets.push_back({tp.first, tp.second, offset});

  Result<store::CommitStats> stats = writer_->Commit(batch_, NowMicros());
  if (!stats.ok()) {
    counters_.commit_failures.fetch_add(1);
    if (Status s = Rewind(); !s.ok()) return s;
    return stats.status();
  }
  counters_.batches.fetch_add(1);
  counters_.stored.fetch_add(stats->sensor_rows + stats->cooling_rows);
  counters_.rejected.fetch_add(stats->rejects);
  // Kafka's copy of the offsets, for lag tools; the store already holds the truth, so a failure
  // here is logged only.
  std::vector<bus::PartitionOffset> commit;
  for (const store::StoredOffset& o : batch_.offsets)
    commit.push_back({o.topic, o.partition, o.next_offset});
  if (Status s = consumer_->Commit(commit); !s.ok()) Logger("ingest")->warn("{}", s.message());
  return Status::Ok();
}

Status Loader::Rewind() {
  std::vector<bus::PartitionOffset> parts = consumer_->Assignment();
  OnAssigned(parts);
  return consumer_->Seek(parts);
}

Status Loader::Close() { return consumer_->Close(); }

}  // namespace dcmon::ingest
