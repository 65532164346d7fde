#include "bus/consumer.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"

namespace dcmon::bus {
namespace {

PartitionList ToList(const std::vector<PartitionOffset>& parts) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const PartitionOffset& p : parts) {
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = p.offset;
  }
  return list;
}

std::vector<PartitionOffset> FromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<PartitionOffset> out;
  for (int i = 0; list && i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

Status KafkaError(std::string_view what, rd_kafka_resp_err_t err) {
  return Status(StatusCode::kUnavailable, fmt::format("kafka {}: {}", what, rd_kafka_err2str(err)));
}

}  // namespace

Batch::View Batch::message(size_t i) const {
  const rd_kafka_message_t* m = messages_[i];
  return {rd_kafka_topic_name(m->rkt), m->partition, m->offset,
          std::string_view(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
          std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0)};
}

std::optional<std::string_view> Batch::header(size_t i, std::string_view name) const {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(messages_[i], &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, std::string(name).c_str(), &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  return std::string_view(static_cast<const char*>(value), size);
}

void Batch::Clear() {
  for (rd_kafka_message_t* m : messages_) rd_kafka_message_destroy(m);
  messages_.clear();
}

Status Membership::Validate() const {
  if (members < 1) return InvalidArgument(fmt::format("members: must be >= 1, got {}", members));
  if (member < 0 || member >= members) {
    return InvalidArgument(
        fmt::format("member: must be in 0..{} (members - 1), got {}", members - 1, member));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Consumer>> Consumer::Create(const KafkaConfig& config,
                                                   const std::string& group,
                                                   const std::vector<std::string>& topics,
                                                   AssignmentListener* listener,
                                                   Membership membership) {
  if (Status s = config.Validate(); !s.ok()) return s;
  if (Status s = membership.Validate(); !s.ok()) return s.WithPrefix("kafka consumer: ");
  if (group.empty()) return InvalidArgument("kafka consumer: a group id is required");
  std::unique_ptr<Consumer> c(new Consumer());
  c->listener_ = listener;
  c->membership_ = membership;
  c->commit_timeout_ = config.commit_timeout;
  Result<KafkaConf> conf = MakeConf(
      config, {
                  // Only for Kafka's copy of the offsets (Commit(), and the start of a
                  // partition the listener has no position for): the consumer never joins
                  // the group, so a restart waits for no session of its own to expire.
                  {"group.id", group},
                  {"enable.auto.commit", "false"},
                  {"enable.auto.offset.store", "false"},
                  // Out-of-range offsets come back as errors, so loss is counted.
                  {"auto.offset.reset", "error"},
                  {"enable.partition.eof", "false"},
                  {"fetch.max.bytes", "52428800"},
                  {"max.partition.fetch.bytes", "4194304"},
                  // A backlog batch (122,880 simulator records of ~250 bytes) is ~31 MB of
                  // framed messages: 48 MB holds it and half the next. Peak RSS −20 MB
                  // against 64 MB at the same speed; at 32 MB the decoder waited on the
                  // fetchers (docs/benchmarks.md).
                  {"queued.max.messages.kbytes", "49152"},
                  // The prefetch is bounded by its size above, not by a count. librdkafka 2.0's
                  // count (100,000) is of all partitions' messages in the one consumer queue:
                  // reached while a commit holds the loader back, it stops every partition's
                  // fetches until the broker thread's next wake-up, up to 1 s later, and a
                  // backlog's drain spent two thirds of its time waiting (docs/benchmarks.md).
                  {"queued.min.messages", "1000000"},
                  // librdkafka's 500 ms lets a broker hold a fetch that long when little
                  // is waiting: at 10,000 records/s that alone broke the 1 s p99 of
                  // event-to-queryable latency (docs/benchmarks.md: 1,582 ms; 767 ms at 10).
                  {"fetch.wait.max.ms", "10"},
                  // A commit sent while the group coordinator is down waits this long for it,
                  // and closing the consumer waits for every such commit: librdkafka's 60 s held
                  // a stop with the broker killed first for up to a minute.
                  {"socket.timeout.ms", "5000"},
                  // The consumer never joins the group, yet librdkafka 2.0, destroyed while the
                  // coordinator is silent, can wait out a group session: with the default 45 s a
                  // stop after the broker was killed took 47 s in 1 of 8 runs under ASan, with
                  // 6 s up to 9 s, with 1 s 12 runs of 12 within 1 s. It bounds nothing else
                  // here (no group is joined).
                  {"session.timeout.ms", "1000"},
                  {"heartbeat.interval.ms", "500"},
              });
  if (!conf.ok()) return conf.status();
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), err, sizeof err);
  if (!rk) return InvalidArgument(fmt::format("kafka consumer: {}", err));
  conf->release();
  c->rk_.reset(rk);
  rd_kafka_poll_set_consumer(rk);
  c->queue_.reset(rd_kafka_queue_get_consumer(rk));
  for (const std::string& t : topics) {
    rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, t.c_str(), nullptr);
    if (!topic) {
      return InvalidArgument(fmt::format("kafka consumer: topic \"{}\": {}", t,
                                         rd_kafka_err2str(rd_kafka_last_error())));
    }
    c->topics_.emplace_back(topic);
  }
  return c;
}

Consumer::~Consumer() {
  (void)Close();
  if (close_abandoned_) {
    // librdkafka's own destroy would close the consumer again, and wait as long.
    topics_.clear();
    rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
}

Status Consumer::Discover(std::chrono::milliseconds timeout) {
  std::vector<PartitionOffset> found;
  Status failed;
  bool every_topic_found = true;
  for (const auto& topic : topics_) {
    const rd_kafka_metadata_t* raw = nullptr;
    const rd_kafka_resp_err_t e =
        rd_kafka_metadata(rk_.get(), 0, topic.get(), &raw, static_cast<int>(timeout.count()));
    std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> md(
        raw, &rd_kafka_metadata_destroy);
    const std::string name = rd_kafka_topic_name(topic.get());
    // No answer from any broker (one down): the other topics would each wait out `timeout` too.
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      every_topic_found = false;
      if (failed.ok()) failed = KafkaError(fmt::format("partitions of {}", name), e);
      break;
    }
    const rd_kafka_resp_err_t topic_error =
        md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (topic_error != RD_KAFKA_RESP_ERR_NO_ERROR || md->topics[0].partition_cnt == 0) {
      every_topic_found = false;
      if (failed.ok()) {
        failed = KafkaError(fmt::format("partitions of {}", name),
                            topic_error == RD_KAFKA_RESP_ERR_NO_ERROR
                                ? RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION
                                : topic_error);
      }
      continue;
    }
    const rd_kafka_metadata_topic_t& t = md->topics[0];
    for (int i = 0; i < t.partition_cnt; ++i) {
      const int32_t id = t.partitions[i].id;
      if (id % membership_.members != membership_.member) continue;
      if (start_offsets_.contains({name, id})) continue;
      found.push_back({name, id, RD_KAFKA_OFFSET_BEGINNING});
    }
  }
  discover_at_ = std::chrono::steady_clock::now() +
                 (every_topic_found ? std::chrono::seconds(10) : std::chrono::seconds(1));
  if (found.empty()) return failed;
  // Kafka's committed offsets, else the beginning; a listener with a store of its own overrides
  // them where the store knows better.
  PartitionList committed = ToList(found);
  if (rd_kafka_resp_err_t e = rd_kafka_committed(rk_.get(), committed.get(), 10000);
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Starting at the beginning instead could read again what another store already holds: look
    // again soon.
    discover_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    return KafkaError("committed offsets", e);
  }
  for (int i = 0; i < committed->cnt; ++i) {
    if (committed->elems[i].offset >= 0) found[i].offset = committed->elems[i].offset;
  }
  if (listener_) listener_->OnAssigned(found);
  for (const PartitionOffset& p : found) start_offsets_[{p.topic, p.partition}] = p.offset;
  counters_.assignments.fetch_add(static_cast<int64_t>(found.size()), std::memory_order_relaxed);
  if (Status s = Reassign(found); !s.ok()) return s;
  Logger("bus")->info("assigned {} partition(s) (member {} of {})", found.size(),
                      membership_.member, membership_.members);
  return failed;
}

Status Consumer::Reassign(const std::vector<PartitionOffset>& changes) {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_resp_err_t e = rd_kafka_assignment(rk_.get(), &raw); e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return KafkaError("assignment", e);
  PartitionList assignment(raw);
  rd_kafka_position(rk_.get(), assignment.get());
  for (int i = 0; i < assignment->cnt; ++i) {
    rd_kafka_topic_partition_t& p = assignment->elems[i];
    if (p.offset < 0) {
      auto it = start_offsets_.find({p.topic, p.partition});
      p.offset = it == start_offsets_.end() ? RD_KAFKA_OFFSET_BEGINNING : it->second;
    }
  }
  for (const PartitionOffset& c : changes) {
    rd_kafka_topic_partition_list_add(assignment.get(), c.topic.c_str(), c.partition)->offset =
        c.offset;
  }
  // A partition listed twice: the change (added last) wins.
  rd_kafka_topic_partition_list_t* merged = rd_kafka_topic_partition_list_new(assignment->cnt);
  PartitionList out(merged);
  for (int i = assignment->cnt - 1; i >= 0; --i) {
    const rd_kafka_topic_partition_t& p = assignment->elems[i];
    if (rd_kafka_topic_partition_list_find(merged, p.topic, p.partition)) continue;
    rd_kafka_topic_partition_list_add(merged, p.topic, p.partition)->offset = p.offset;
  }
  if (rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), merged); e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return KafkaError("assign", e);
  return Status::Ok();
}

Status Consumer::HandleOutOfRange(const rd_kafka_message_t* m) {
  const char* topic = rd_kafka_topic_name(m->rkt);
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t e =
      rd_kafka_query_watermark_offsets(rk_.get(), topic, m->partition, &low, &high, 10000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    counters_.errors.fetch_add(1);
    return Status(StatusCode::kIoError,
                  fmt::format("kafka {}[{}]: offset {} out of range and watermarks unknown: {}",
                              topic, m->partition, m->offset, rd_kafka_err2str(e)));
  }
  // Below the oldest record held: those records are gone. Past the end: nothing was lost, start at
  // the end.
  const int64_t resume = m->offset < low ? low : high;
  const int64_t lost = m->offset >= 0 && m->offset < low ? low - m->offset : 0;
  counters_.lost.fetch_add(lost);
  Logger("bus")->error(
      "{}[{}]: offset {} is out of the broker's retention ({}..{}): {} record(s) lost, resuming at "
      "{}",
      topic, m->partition, m->offset, low, high, lost, resume);
  // The partition has stopped fetching, and a seek does not restart it (librdkafka 2.0): assign
  // again, this partition at `resume` and every other one where the application has got to.
  if (Status s = Reassign({{topic, m->partition, resume}}); !s.ok()) {
    counters_.errors.fetch_add(1);
    return s.WithPrefix(fmt::format("{}[{}]: resuming at {}: ", topic, m->partition, resume));
  }
  return Status::Ok();
}

Status Consumer::Poll(size_t max, std::chrono::milliseconds timeout, Batch& out) {
  Status first;
  int others = 0;
  auto note = [&](Status s) {
    if (s.ok()) return;
    if (first.ok()) {
      first = std::move(s);
    } else {
      ++others;
    }
  };
  // The first search must not fail only because connecting took longer than a short poll; later
  // ones wait 1 s at most, so that a broker down holds no Poll() (nor a stop) for long.
  if (std::chrono::steady_clock::now() >= discover_at_) {
    const std::chrono::milliseconds floor =
        start_offsets_.empty() ? std::chrono::seconds(5) : std::chrono::seconds(1);
    note(Discover(std::max(timeout, floor)));
  }
  // Whole batches off the consumer queue: much cheaper per record than one poll per message.
  int wait = static_cast<int>(timeout.count());
  std::vector<rd_kafka_message_t*> got(std::min<size_t>(max, 10000));
  const size_t end = out.messages_.size() + max;
  while (out.messages_.size() < end) {
    // librdkafka waits until it has `room` messages or the timeout: the wait is for the first one
    // only, then what the queue holds is taken (a fetcher behind leaves none waiting undecoded).
    const size_t room = wait > 0 ? 1 : std::min(got.size(), end - out.messages_.size());
    const ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), wait, got.data(), room);
    if (n < 0) {
      note(KafkaError("consume", rd_kafka_last_error()));
      break;
    }
    if (n == 0) break;
    wait = 0;  // only the first batch is waited for
    for (ssize_t i = 0; i < n; ++i) note(Accept(got[i], out));
  }
  if (others > 0) {
    return Status(first.code(), fmt::format("{} (and {} more error(s))", first.message(), others));
  }
  return first;
}

Status Consumer::Accept(rd_kafka_message_t* m, Batch& out) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.messages_.push_back(m);
    counters_.consumed.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  Status s;
  if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
      m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
    s = HandleOutOfRange(m);
  } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    s = Status(StatusCode::kIoError,
               m->rkt ? fmt::format("kafka {}[{}]: {}", rd_kafka_topic_name(m->rkt), m->partition,
                                    rd_kafka_message_errstr(m))
                      : fmt::format("kafka: {}", rd_kafka_message_errstr(m)));
  }
  rd_kafka_message_destroy(m);
  return s;
}

Status Consumer::Commit(const std::vector<PartitionOffset>& next_offsets) {
  if (next_offsets.empty()) return Status::Ok();
  PartitionList list = ToList(next_offsets);
  // The answer comes on a queue of this call's own, so that waiting for it has a deadline. A late
  // answer finds the queue gone and is dropped by librdkafka.
  std::unique_ptr<rd_kafka_queue_t, RdKafkaDeleter> reply(rd_kafka_queue_new(rk_.get()));
  if (rd_kafka_resp_err_t e =
          rd_kafka_commit_queue(rk_.get(), list.get(), reply.get(), nullptr, nullptr);
      e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return KafkaError("commit", e);
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> answer(
      rd_kafka_queue_poll(reply.get(), static_cast<int>(commit_timeout_.count())),
      &rd_kafka_event_destroy);
  coordinator_silent_ = !answer;
  if (!answer)
    return DeadlineExceeded(
        fmt::format("kafka commit: no answer from the group coordinator within "
                    "{} ms",
                    commit_timeout_.count()));
  const rd_kafka_resp_err_t e = rd_kafka_event_error(answer.get());
  return e == RD_KAFKA_RESP_ERR_NO_ERROR ? Status::Ok() : KafkaError("commit", e);
}

Status Consumer::Pause(const std::vector<PartitionOffset>& partitions) {
  PartitionList list = ToList(partitions);
  const rd_kafka_resp_err_t e = rd_kafka_pause_partitions(rk_.get(), list.get());
  return e == RD_KAFKA_RESP_ERR_NO_ERROR ? Status::Ok() : KafkaError("pause", e);
}

Status Consumer::Resume(const std::vector<PartitionOffset>& partitions) {
  PartitionList list = ToList(partitions);
  const rd_kafka_resp_err_t e = rd_kafka_resume_partitions(rk_.get(), list.get());
  return e == RD_KAFKA_RESP_ERR_NO_ERROR ? Status::Ok() : KafkaError("resume", e);
}

Status Consumer::Seek(const std::vector<PartitionOffset>& partitions) {
  if (partitions.empty()) return Status::Ok();
  PartitionList list = ToList(partitions);
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_.get(), list.get(), 10000)) {
    const std::string message = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    return Status(StatusCode::kIoError, "kafka seek: " + message);
  }
  return Status::Ok();
}

std::vector<PartitionOffset> Consumer::Assignment() const {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  PartitionList owned(list);
  return FromList(list);
}

void Consumer::WakeFetcher(std::chrono::milliseconds timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (start_offsets_.empty() || now - woken_at_ < std::chrono::milliseconds(100)) return;
  woken_at_ = now;
  // One partition per leader would do; librdkafka groups the list by leader itself, so all go.
  PartitionList ends(rd_kafka_topic_partition_list_new(static_cast<int>(start_offsets_.size())));
  for (const auto& [tp, offset] : start_offsets_)
    rd_kafka_topic_partition_list_add(ends.get(), tp.first.c_str(), tp.second)->offset =
        RD_KAFKA_OFFSET_END;
  (void)rd_kafka_offsets_for_times(rk_.get(), ends.get(), static_cast<int>(timeout.count()));
  counters_.fetcher_wakes.fetch_add(1, std::memory_order_relaxed);
}

std::vector<PartitionLag> Consumer::Lag() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  PartitionList assigned(raw);
  rd_kafka_position(rk_.get(), assigned.get());
  std::vector<PartitionLag> out;
  for (int i = 0; i < assigned->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = assigned->elems[i];
    PartitionLag lag{p.topic, p.partition, -1};
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk_.get(), p.topic, p.partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      (void)rd_kafka_query_watermark_offsets(rk_.get(), p.topic, p.partition, &low, &high, 1000);
    }
    // Nothing read yet: the position is where the partition was assigned to start.
    int64_t next = p.offset;
    if (next < 0) {
      auto it = start_offsets_.find({p.topic, p.partition});
      next = it != start_offsets_.end() && it->second >= 0 ? it->second : low;
    }
    if (high >= 0 && next >= 0) lag.lag = std::max<int64_t>(0, high - next);
    out.push_back(std::move(lag));
  }
  return out;
}

Status Consumer::Close() {
  if (closed_ || !rk_) return Status::Ok();
  closed_ = true;
  queue_.reset();
  // Closing waits for every commit librdkafka still holds, each up to socket.timeout.ms while the
  // group coordinator is unreachable, and so does destroying a handle still closing: with the
  // broker killed first a stop took over 10 s. When the last commit got no answer the consumer is
  // not closed but destroyed: those commits (Kafka's copy of the offsets, for lag monitoring; the
  // store holds the truth) are dropped.
  if (coordinator_silent_) {
    close_abandoned_ = true;
    return DeadlineExceeded(
        "kafka close: skipped, the group coordinator did not answer the last commit; its pending "
        "commits are dropped");
  }
  const rd_kafka_resp_err_t e = rd_kafka_consumer_close(rk_.get());
  return e == RD_KAFKA_RESP_ERR_NO_ERROR ? Status::Ok() : KafkaError("close", e);
}

}  // namespace dcmon::bus
