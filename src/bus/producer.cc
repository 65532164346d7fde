#include "bus/producer.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <thread>

namespace dcmon::bus {
namespace {

// librdkafka's partitioners by their `partitioner` property value; null for `random`. The
// `*_random` ones are random only for a message without a key.
struct NamedPartitioner {
  std::string_view name;
  int32_t (*function)(const rd_kafka_topic_t*, const void*, size_t, int32_t, void*, void*);
  bool random_without_key;
};
constexpr NamedPartitioner kPartitioners[] = {
    {"random", nullptr, true},
    {"consistent", &rd_kafka_msg_partitioner_consistent, false},
    {"consistent_random", &rd_kafka_msg_partitioner_consistent_random, true},
    {"murmur2", &rd_kafka_msg_partitioner_murmur2, false},
    {"murmur2_random", &rd_kafka_msg_partitioner_murmur2_random, true},
    {"fnv1a", &rd_kafka_msg_partitioner_fnv1a, false},
    {"fnv1a_random", &rd_kafka_msg_partitioner_fnv1a_random, true},
};

// The `partitioner` a topic gets: a topic-level property, librdkafka's default unless set.
std::string PartitionerName(const rd_kafka_conf_t* conf) {
  char name[64];
  size_t size = sizeof name;
  if (rd_kafka_conf_get(conf, "partitioner", name, &size) == RD_KAFKA_CONF_OK) return name;
  std::unique_ptr<rd_kafka_topic_conf_t, decltype(&rd_kafka_topic_conf_destroy)> defaults(
      rd_kafka_topic_conf_new(), &rd_kafka_topic_conf_destroy);
  size = sizeof name;
  if (rd_kafka_topic_conf_get(defaults.get(), "partitioner", name, &size) != RD_KAFKA_CONF_OK)
    return "";
  return name;
}

}  // namespace

int32_t TopicPartitions::Of(std::string_view key) const {
  if (function_ == nullptr || (key.empty() && random_without_key_)) return RD_KAFKA_PARTITION_UA;
  return function_(topic_, key.data(), key.size(), count_, nullptr, nullptr);
}

Result<std::unique_ptr<Producer>> Producer::Create(const KafkaConfig& config) {
  if (Status s = config.Validate(); !s.ok()) return s;
  std::unique_ptr<Producer> p(new Producer());
  p->enqueue_timeout_ = config.enqueue_timeout;
  // Tuned for telemetry: many small records, throughput over latency by a few milliseconds
  // (docs/kafka.md).
  Result<KafkaConf> conf = MakeConf(config, {
                                                {"enable.idempotence", "true"},
                                                {"compression.type", "lz4"},
                                                {"linger.ms", "5"},
                                                {"batch.num.messages", "10000"},
                                                {"batch.size", "1000000"},
                                                {"queue.buffering.max.messages", "200000"},
                                                {"queue.buffering.max.kbytes", "131072"},
                                                {"message.timeout.ms", "300000"},
                                                {"statistics.interval.ms", "1000"},
                                            });
  if (!conf.ok()) return conf.status();
  const std::string name = PartitionerName(conf->get());
  const auto known = std::find_if(std::begin(kPartitioners), std::end(kPartitioners),
                                  [&](const NamedPartitioner& n) { return n.name == name; });
  if (known == std::end(kPartitioners)) {
    return InvalidArgument(
        fmt::format("kafka property partitioner: {}: not one of librdkafka's (random, consistent, "
                    "consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random)",
                    name));
  }
  p->partitioner_.function_ = known->function;
  p->partitioner_.random_without_key_ = known->random_without_key;
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::OnDelivery);
  rd_kafka_conf_set_stats_cb(conf->get(), &Producer::OnStats);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), err, sizeof err);
  if (!rk) return InvalidArgument(fmt::format("kafka producer: {}", err));
  conf->release();  // rd_kafka_new took ownership
  p->rk_.reset(rk);
  return p;
}

Producer::~Producer() {
  if (rk_) (void)Flush(std::chrono::seconds(5));
  topics_.clear();
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  const std::unique_ptr<InFlight> in_flight(static_cast<InFlight*>(message->_private));
  const int64_t records = in_flight ? in_flight->records : 1;
  if (in_flight && in_flight->tracker) {
    const bool late = in_flight->tracker->Remove(
        message->err == RD_KAFKA_RESP_ERR_NO_ERROR ? nullptr : rd_kafka_err2str(message->err),
        records);
    if (late) self->counters_.late.fetch_add(records, std::memory_order_relaxed);
  }
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->counters_.acked.fetch_add(records, std::memory_order_relaxed);
    return;
  }
  self->counters_.failed.fetch_add(records, std::memory_order_relaxed);
  std::lock_guard lock(self->error_mu_);
  self->last_error_ = rd_kafka_err2str(message->err);
}

int Producer::OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  // Sum of request retries over all brokers ("brokers": {name: {"txretries": n}}).
  auto* self = static_cast<Producer*>(opaque);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parser.parse(json, len).get(doc)) {
    simdjson::dom::object brokers;
    if (!doc["brokers"].get(brokers)) {
      int64_t retries = 0;
      for (auto [name, broker] : brokers) {
        int64_t n = 0;
        if (!broker["txretries"].get(n)) retries += n;
      }
      self->counters_.retries.store(retries, std::memory_order_relaxed);
    }
  }
  return 0;  // librdkafka frees the JSON
}

rd_kafka_topic_t* Producer::Topic(std::string_view name) {
  std::lock_guard lock(topics_mu_);
  auto it = topics_.find(std::string(name));
  if (it != topics_.end()) return it->second.get();
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_.get(), std::string(name).c_str(), nullptr);
  if (!t) return nullptr;
  return topics_.emplace(std::string(name), t).first->second.get();
}

Result<TopicPartitions> Producer::Partitions(std::string_view topic,
                                             std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* t = Topic(topic);
  if (!t)
    return InvalidArgument(
        fmt::format("kafka topic {}: {}", topic, rd_kafka_err2str(rd_kafka_last_error())));
  const auto now = std::chrono::steady_clock::now();
  std::optional<TopicPartitions> last;
  {
    std::lock_guard lock(topics_mu_);
    if (auto it = partitions_.find(std::string(topic)); it != partitions_.end()) {
      if (now - it->second.at < kPartitionsRefresh) return it->second.partitions;
      last = it->second.partitions;
      it->second.at = now;  // one caller asks; the others go on with the last answer meanwhile
    }
  }
  // A refresh holds its caller up briefly: the last answer serves when no broker answers.
  if (last) timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(1));
  // Asked outside the lock: other topics' callers do not wait for this answer.
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk_.get(), 0, t, &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> md(
      raw, &rd_kafka_metadata_destroy);
  const rd_kafka_resp_err_t topic_error = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err
                                          : md->topic_cnt == 1              ? md->topics[0].err
                                                               : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  if (topic_error != RD_KAFKA_RESP_ERR_NO_ERROR || md->topics[0].partition_cnt <= 0) {
    if (last) return *last;
    return Unavailable(fmt::format("kafka topic {}: partitions unknown: {}", topic,
                                   topic_error != RD_KAFKA_RESP_ERR_NO_ERROR
                                       ? rd_kafka_err2str(topic_error)
                                       : "the topic has no partitions"));
  }
  TopicPartitions p = partitioner_;
  p.topic_ = t;
  p.count_ = md->topics[0].partition_cnt;
  std::lock_guard lock(topics_mu_);
  partitions_[std::string(topic)] = {p, now};
  return p;
}

void DeliveryTracker::Add(int64_t records) {
  std::lock_guard lock(mu_);
  if (pending_ == 0) self_ = shared_from_this();
  pending_ += records;
}

bool DeliveryTracker::Remove(const char* error, int64_t records) {
  // Released after the lock: the last record's report may drop the last reference.
  std::shared_ptr<DeliveryTracker> last;
  std::lock_guard lock(mu_);
  if (error) {
    failed_ += records;
    error_ = error;
  }
  pending_ -= records;
  if (pending_ == 0) last = std::move(self_);
  return abandoned_;
}

Status DeliveryTracker::Wait(rd_kafka_t* rk, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (pending_ == 0) {
        if (failed_ == 0) return Status::Ok();
        return dcmon::Unavailable(
            fmt::format("kafka: {} record(s) not delivered: {}", failed_, error_));
      }
    }
    if (std::chrono::steady_clock::now() > until) {
      std::lock_guard lock(mu_);
      abandoned_ = true;
      return DeadlineExceeded(fmt::format("kafka: {} record(s) not acknowledged within {} ms",
                                          pending_, deadline.count()));
    }
    // Serves delivery reports: this caller's, and any other's.
    rd_kafka_poll(rk, 5);
  }
}

Status Producer::Produce(std::string_view topic, std::string_view key, std::string_view value,
                         std::span<const Header> headers,
                         const std::shared_ptr<DeliveryTracker>& tracker, int32_t partition,
                         int64_t records) {
  rd_kafka_topic_t* t = Topic(topic);
  if (!t)
    return InvalidArgument(
        fmt::format("kafka topic {}: {}", topic, rd_kafka_err2str(rd_kafka_last_error())));
  // librdkafka takes the headers on success only, so one copy serves every retry below.
  std::unique_ptr<rd_kafka_headers_t, void (*)(rd_kafka_headers_t*)> hdrs(
      headers.empty() ? nullptr : rd_kafka_headers_new(headers.size()), &rd_kafka_headers_destroy);
  for (const Header& h : headers) {
    rd_kafka_header_add(hdrs.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value.data(), static_cast<ssize_t>(h.value.size()));
  }
  const auto deadline = std::chrono::steady_clock::now() + enqueue_timeout_;
  // The message's opaque until its delivery report; none for one record nobody waits for.
  std::unique_ptr<InFlight> in_flight(tracker || records != 1 ? new InFlight{tracker.get(), records}
                                                              : nullptr);
  // Counted in before it can be counted out (another thread may serve its delivery report first).
  auto untrack = [&] {
    if (tracker) (void)tracker->Remove(nullptr, records);
  };
  if (tracker) tracker->Add(records);
  for (;;) {
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_.get(), RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_HEADERS(hdrs.get()),
                          RD_KAFKA_V_OPAQUE(in_flight.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)hdrs.release();
      (void)in_flight.release();  // the delivery report's now
      // Delivery reports are served every 1,024 records: polling per record costs more than
      // producing.
      const int64_t before = counters_.produced.fetch_add(records, std::memory_order_relaxed);
      if (before >> 10 != (before + records) >> 10) rd_kafka_poll(rk_.get(), 0);
      return Status::Ok();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      untrack();
      return Status(StatusCode::kUnavailable,
                    fmt::format("kafka produce to {}: {}", topic, rd_kafka_err2str(err)));
    }
    // Back-pressure: the queue is full, so wait for deliveries to make room rather than grow
    // memory.
    counters_.waits.fetch_add(1, std::memory_order_relaxed);
    if (std::chrono::steady_clock::now() > deadline) {
      untrack();
      return Status(
          StatusCode::kUnavailable,
          fmt::format("kafka produce to {}: queue still full after {} ms (broker unreachable?{})",
                      topic, enqueue_timeout_.count(),
                      last_error().empty() ? "" : " last error: " + last_error()));
    }
    rd_kafka_poll(rk_.get(), 10);
  }
}

Status Producer::Flush(std::chrono::milliseconds deadline) {
  if (rd_kafka_flush(rk_.get(), static_cast<int>(deadline.count())) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const int64_t failed_before = counters_.failed.load();
    const std::string reason = last_error();
    // What is still queued or in flight gets its delivery report now (as purged), which releases
    // its tracker; serving those reports needs no broker.
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    (void)rd_kafka_flush(rk_.get(), 1000);
    return Status(StatusCode::kDeadlineExceeded,
                  fmt::format("kafka flush: {} record(s) not delivered: no acknowledgement within "
                              "{} ms (last error: {})",
                              counters_.failed.load() - failed_before, deadline.count(),
                              reason.empty() ? "none" : reason));
  }
  if (counters_.failed.load() > 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("kafka: {} records failed delivery; last error: {}",
                              counters_.failed.load(), last_error()));
  }
  return Status::Ok();
}

std::string Producer::last_error() const {
  std::lock_guard lock(error_mu_);
  return last_error_;
}

}  // namespace dcmon::bus
