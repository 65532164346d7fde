// Integration tests of the Kafka transport against the embedded broker (librdkafka's mock cluster).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "bus/consumer.h"
#include "bus/embedded_broker.h"
#include "bus/kafka_sink.h"
#include "bus/producer.h"
#include "bus/record_messages.h"
#include "core/record_json.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace dcmon::bus {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

struct Cluster {
  explicit Cluster(int partitions = 4, int brokers = 1) {
    auto b = EmbeddedBroker::Start(
        {.brokers = brokers,
         .partitions = partitions,
         .topics = {kafka.sensors_topic, kafka.cooling_topic, kafka.rejects_topic}});
    EXPECT_TRUE(b.ok()) << b.status().message();
    broker = std::move(*b);
    kafka.bootstrap = broker->bootstrap();
  }
  std::unique_ptr<Producer> MakeProducer() {
    auto p = Producer::Create(kafka);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return std::move(*p);
  }
  KafkaConfig kafka;
  std::unique_ptr<EmbeddedBroker> broker;
};

// A loader's store in miniature: what was made durable, and each partition's next offset, updated
// together.
class Store : public AssignmentListener {
 public:
  void OnAssigned(std::vector<PartitionOffset>& parts) override {
    std::lock_guard lock(mu_);
    for (auto& p : parts) {
      auto it = next_.find({p.topic, p.partition});
      if (it != next_.end()) p.offset = it->second;
    }
  }
  // Records by key: a message's own, or for each line of a framed message its device id.
  void Save(const Batch& batch) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      const Batch::View m = batch.message(i);
      next_[{std::string(m.topic), m.partition}] = m.offset + 1;
      ++messages_;
      if (!IsNdjsonFramed(batch, i)) {
        Keep(m, m.key, m.value);
        continue;
      }
      ForEachNdjsonLine(m.value, [&](std::string_view line, int64_t) {
        Result<Record> r = decoder_.Decode(line);
        EXPECT_TRUE(r.ok()) << line;
        if (r.ok()) Keep(m, DeviceIdOf(*r), line);
        return true;
      });
    }
  }
  size_t unique() const { return seen_.size(); }
  int64_t messages() const { return messages_; }
  // The (topic, partition)s a key's records came from.
  const std::set<std::pair<std::string, int32_t>>& partitions_of(const std::string& key) const {
    return partitions_of_.at(key);
  }
  int duplicates() const { return duplicates_; }
  const std::map<std::string, std::vector<std::string>>& by_key() const { return by_key_; }

 private:
  void Keep(const Batch::View& m, std::string_view key, std::string_view value) {
    const std::string record(value);
    if (!seen_.insert(record).second) ++duplicates_;
    by_key_[std::string(key)].push_back(record);
    partitions_of_[std::string(key)].insert({std::string(m.topic), m.partition});
  }

  std::mutex mu_;
  RecordDecoder decoder_;
  int64_t messages_ = 0;
  std::map<std::pair<std::string, int32_t>, int64_t> next_;
  std::set<std::string> seen_;
  std::map<std::string, std::vector<std::string>> by_key_;
  std::map<std::string, std::set<std::pair<std::string, int32_t>>> partitions_of_;
  int duplicates_ = 0;
};

std::unique_ptr<Consumer> MakeConsumer(KafkaConfig kafka, const std::string& group,
                                       const std::vector<std::string>& topics,
                                       AssignmentListener* listener, Membership membership = {}) {
  // KDEBUG=cgrp,fetch turns on librdkafka's debug log when a test needs looking into.
  if (const char* debug = std::getenv("KDEBUG")) kafka.properties["debug"] = debug;
  auto c = Consumer::Create(kafka, group, topics, listener, membership);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(*c);
}

// Polls until `store` holds `want` records or `limit` passes.
void ConsumeUntil(Consumer& c, Store& store, size_t want, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Batch batch;
  while (store.unique() < want && std::chrono::steady_clock::now() < deadline) {
    batch.Clear();
    const Status s = c.Poll(10000, 100ms, batch);
    ASSERT_TRUE(s.ok()) << s.message();
    store.Save(batch);
  }
}

// Polls until the consumer holds partitions.
void PollUntilAssigned(Consumer& c, Store& store, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Batch batch;
  while (c.Assignment().empty() && std::chrono::steady_clock::now() < deadline) {
    batch.Clear();
    const Status s = c.Poll(500, 50ms, batch);
    ASSERT_TRUE(s.ok()) << s.message();
    store.Save(batch);
  }
}

// The simulator's output through Kafka: nothing lost, each device's records in time order, and
// framed (bus/record_messages.h): far fewer messages than records.
TEST(Bus, SimulatorRoundTripKeepsEveryRecordInDeviceOrder) {
  Cluster cluster;
  const int64_t start = *ParseRfc3339("2025-08-21T16:00:00Z");
  auto sim =
      sim::Simulator::Create(*sim::LoadFacility("small"), {.seed = 3, .start_micros = start});
  ASSERT_TRUE(sim.ok());
  KafkaSink sink(cluster.MakeProducer(), cluster.kafka);
  ASSERT_TRUE((*sim)->RunUntil(start + 3600LL * 1000000, sink, nullptr).ok());
  ASSERT_TRUE((*sim)->Finish(sink).ok());
  const int64_t produced = (*sim)->counters().records;
  EXPECT_EQ(sink.producer().counters().acked, produced);
  EXPECT_EQ(sink.producer().counters().failed, 0);

  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "round-trip",
                               {cluster.kafka.sensors_topic, cluster.kafka.cooling_topic}, &store);
  ConsumeUntil(*consumer, store, static_cast<size_t>(produced));
  EXPECT_EQ(store.unique(), static_cast<size_t>(produced));
  EXPECT_EQ(store.duplicates(), 0);
  EXPECT_LT(store.messages() * 50, produced);
  RecordDecoder decoder;
  for (const auto& [key, records] : store.by_key()) {
    EXPECT_EQ(store.partitions_of(key).size(), 1u) << key << ": one partition";
    int64_t last = -1;
    for (const std::string& json : records) {
      Result<Record> r = decoder.Decode(json);
      ASSERT_TRUE(r.ok()) << r.status().message();
      const int64_t t = std::visit([](const auto& x) { return x.timestamp_micros; }, *r);
      ASSERT_GT(t, last) << key;
      last = t;
    }
  }
}

// A record the sink frames is sent within about 100 ms of the last time all went out, without a
// Flush(): one cooling record among a stream of sensor readings reaches the topic while the stream
// goes on (it waited for the stream's end before).
TEST(Bus, KafkaSinkSendsAFramedRecordWithoutWaitingForItsMessageToFill) {
  Cluster cluster;
  KafkaSink sink(cluster.MakeProducer(), cluster.kafka);
  const std::string cooling =
      R"({"source_type":"cooling","system_id":"crah-1","efficiency_percent":90,)"
      R"("power_consumption_watts":1000,"timestamp":"2025-08-21T16:00:00Z"})";
  ASSERT_TRUE(sink.Write("crah-1", cooling).ok());
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "frame-wait", {cluster.kafka.cooling_topic}, &store);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  Batch batch;
  for (int i = 0; store.unique() < 1 && std::chrono::steady_clock::now() < deadline; ++i) {
    const std::string reading =
        R"({"source_type":"sensor","device_id":"t)" + std::to_string(i % 40) +
        R"(","location":"Room 1","measurement_type":"temperature","value":21.5,)"
        R"("timestamp":"2025-08-21T16:00:00Z"})";
    ASSERT_TRUE(sink.Write("t" + std::to_string(i % 40), reading).ok());
    if (i % 1000 == 0) {
      batch.Clear();
      ASSERT_TRUE(consumer->Poll(10, 1ms, batch).ok());
      store.Save(batch);
    }
  }
  EXPECT_EQ(store.unique(), 1u) << "the cooling record, before any Flush()";
  ASSERT_TRUE(sink.Flush().ok());
}

// Produces `n` records keyed over 40 devices.
void ProduceNumbered(Producer& p, const std::string& topic, int n, int from = 0) {
  for (int i = from; i < from + n; ++i) {
    ASSERT_TRUE(
        p.Produce(topic, "device-" + std::to_string(i % 40), "record-" + std::to_string(i)).ok());
  }
}

TEST(Bus, TwoMembersSplitThePartitionsAndTogetherReadEverythingOnce) {
  Cluster cluster(6);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 20000);
  ASSERT_TRUE(producer->Flush(10s).ok());

  Store store;
  auto a = MakeConsumer(cluster.kafka, "split", {cluster.kafka.sensors_topic}, &store,
                        {.member = 0, .members = 2});
  auto b = MakeConsumer(cluster.kafka, "split", {cluster.kafka.sensors_topic}, &store,
                        {.member = 1, .members = 2});
  PollUntilAssigned(*a, store);
  PollUntilAssigned(*b, store);
  std::set<int32_t> of_a, of_b;
  for (const PartitionOffset& p : a->Assignment()) of_a.insert(p.partition);
  for (const PartitionOffset& p : b->Assignment()) of_b.insert(p.partition);
  EXPECT_EQ(of_a, (std::set<int32_t>{0, 2, 4}));
  EXPECT_EQ(of_b, (std::set<int32_t>{1, 3, 5}));
  // More records keep arriving; each member reads its own partitions only.
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 10000, 20000);
  ASSERT_TRUE(producer->Flush(10s).ok());
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  Batch batch;
  while (store.unique() < 30000 && std::chrono::steady_clock::now() < deadline) {
    for (Consumer* c : {a.get(), b.get()}) {
      batch.Clear();
      const Status s = c->Poll(10000, 50ms, batch);
      ASSERT_TRUE(s.ok()) << s.message();
      for (size_t i = 0; i < batch.size(); ++i) {
        ASSERT_TRUE((c == a.get() ? of_a : of_b).contains(batch.message(i).partition));
      }
      store.Save(batch);
    }
  }
  EXPECT_EQ(store.unique(), 30000u);
  EXPECT_EQ(store.duplicates(), 0);
  EXPECT_EQ(a->counters().consumed + b->counters().consumed, 30000);
}

// A loader killed with SIGKILL leaves no session behind that its restart must wait for: a second
// consumer of the same group and membership reads at once while the first is still alive (and not
// polling, as a dead process would not). With group subscription it got nothing until the first
// member's session or the rebalance timed out (45 s and more).
TEST(Bus, AConsumerReadsAtOnceWhileAnEarlierOneOfItsGroupIsStillConnected) {
  Cluster cluster(4);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 1000);
  ASSERT_TRUE(producer->Flush(10s).ok());
  Store first_store;
  auto first = MakeConsumer(cluster.kafka, "restart", {cluster.kafka.sensors_topic}, &first_store);
  ConsumeUntil(*first, first_store, 1000);
  ASSERT_EQ(first_store.unique(), 1000u);
  Store store;
  auto second = MakeConsumer(cluster.kafka, "restart", {cluster.kafka.sensors_topic}, &store);
  const auto start = std::chrono::steady_clock::now();
  ConsumeUntil(*second, store, 1000, 5s);
  EXPECT_EQ(store.unique(), 1000u) << "within 5 s";
  RecordProperty("first_records_ms",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start)
                                      .count()));
}

// Partitions are looked for again while the consumer runs: a consumer started while the broker is
// down reports it, and reads everything once the broker is back. (The embedded broker creates any
// topic a client asks about, so a topic created later cannot be shown with it.)
TEST(Bus, PartitionsAreLookedForAgainAfterAFailedSearch) {
  Cluster cluster(3);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 300);
  ASSERT_TRUE(producer->Flush(10s).ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster.broker->cluster(), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "later", {cluster.kafka.sensors_topic}, &store);
  Batch batch;
  const Status down = consumer->Poll(10, 100ms, batch);
  EXPECT_FALSE(down.ok()) << "no partitions found, and why";
  EXPECT_THAT(down.message(), HasSubstr(cluster.kafka.sensors_topic));
  EXPECT_TRUE(consumer->Assignment().empty());
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster.broker->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (store.unique() < 300 && std::chrono::steady_clock::now() < deadline) {
    batch.Clear();
    (void)consumer->Poll(1000, 100ms, batch);  // errors of the outage may still be queued
    store.Save(batch);
  }
  EXPECT_EQ(store.unique(), 300u);
  EXPECT_EQ(consumer->Assignment().size(), 3u);
}

// Poll() returns what the consumer meets: with the broker down, an error naming Kafka; once the
// broker is back, the records again, none lost.
TEST(Bus, PollReportsABrokerThatIsDownAndRecoversWhenItIsBack) {
  Cluster cluster(2);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 500);
  ASSERT_TRUE(producer->Flush(10s).ok());
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "down-poll", {cluster.kafka.sensors_topic}, &store);
  ConsumeUntil(*consumer, store, 500);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster.broker->cluster(), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  Status down;
  Batch batch;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (down.ok() && std::chrono::steady_clock::now() < deadline) {
    batch.Clear();
    down = consumer->Poll(100, 100ms, batch);
    store.Save(batch);
  }
  ASSERT_FALSE(down.ok()) << "the broker being down is reported";
  EXPECT_THAT(down.message(), HasSubstr("kafka"));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster.broker->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 500, 500);
  ASSERT_TRUE(producer->Flush(30s).ok());
  deadline = std::chrono::steady_clock::now() + 30s;
  while (store.unique() < 1000 && std::chrono::steady_clock::now() < deadline) {
    batch.Clear();
    (void)consumer->Poll(1000, 100ms, batch);  // errors of the outage may still be queued
    store.Save(batch);
  }
  EXPECT_EQ(store.unique(), 1000u);
  EXPECT_EQ(store.duplicates(), 0);
}

TEST(Bus, BrokerDownForTenSecondsLosesNothing) {
  Cluster cluster(2);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 2000);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster.broker->cluster(), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 2000,
                  2000);  // queued while the broker is down
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    producer->Poll();
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LT(producer->counters().acked, 4000);
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster.broker->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(producer->Flush(30s).ok()) << producer->last_error();
  EXPECT_EQ(producer->counters().acked, 4000);
  EXPECT_EQ(producer->counters().failed, 0);
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "down", {cluster.kafka.sensors_topic}, &store);
  ConsumeUntil(*consumer, store, 4000);
  EXPECT_EQ(store.unique(), 4000u);
  EXPECT_EQ(store.duplicates(), 0) << "the idempotent producer wrote no retried record twice";
}

TEST(Bus, InjectedRequestErrorsAreRetried) {
  Cluster cluster(1);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 10);
  ASSERT_TRUE(producer->Flush(10s).ok());
  constexpr int16_t kProduce = 0;
  rd_kafka_mock_push_request_errors(
      cluster.broker->cluster(), kProduce, 4, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 1000, 10);
  ASSERT_TRUE(producer->Flush(30s).ok()) << producer->last_error();
  EXPECT_EQ(producer->counters().acked, 1010);
  EXPECT_EQ(producer->counters().failed, 0);
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "errors", {cluster.kafka.sensors_topic}, &store);
  ConsumeUntil(*consumer, store, 1010);
  EXPECT_EQ(store.unique(), 1010u);
  EXPECT_EQ(store.duplicates(), 0);
}

// A full queue makes Produce() wait for room, not grow; if the broker stays away it fails with a
// reason.
TEST(Bus, BoundedQueueAppliesBackPressure) {
  Cluster cluster(1);
  KafkaConfig small_queue = cluster.kafka;
  small_queue.properties["queue.buffering.max.messages"] = "1000";
  small_queue.enqueue_timeout = std::chrono::milliseconds(1500);
  auto producer = Producer::Create(small_queue);
  ASSERT_TRUE(producer.ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster.broker->cluster(), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  Status status;
  int accepted = 0;
  for (; accepted < 5000 && status.ok(); ++accepted) {
    status = (*producer)->Produce(cluster.kafka.sensors_topic, "k", "v" + std::to_string(accepted));
  }
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("queue still full after 1500 ms"));
  EXPECT_LE(accepted, 1001) << "the queue never held more than its bound";
  EXPECT_GT((*producer)->counters().waits, 0);
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster.broker->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE((*producer)->Flush(30s).ok());
  EXPECT_EQ((*producer)->counters().acked, (*producer)->counters().produced);
}

// Poll()'s bound is on the messages it appends, not on all that `out` holds: the loader fills a
// batch with several polls, each for the rows still missing (it stalled at the first poll's size).
TEST(Bus, EachPollAppendsUpToItsBound) {
  Cluster cluster(2);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 300);
  ASSERT_TRUE(producer->Flush(10s).ok());
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "bound", {cluster.kafka.sensors_topic}, &store);
  Batch batch;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (batch.size() < 300 && std::chrono::steady_clock::now() < deadline) {
    const size_t before = batch.size();
    ASSERT_TRUE(consumer->Poll(50, 100ms, batch).ok());
    EXPECT_LE(batch.size() - before, 50u);
  }
  EXPECT_EQ(batch.size(), 300u);
}

// A framed message's lines, blank ones and a last one without its newline included: never fewer than
// its records (the loader's batch bound counts on it).
TEST(Bus, NdjsonLinesAreCountedWithAndWithoutTheLastNewline) {
  EXPECT_EQ(CountNdjsonLines(""), 0u);
  EXPECT_EQ(CountNdjsonLines("{}\n{}\n"), 2u);
  EXPECT_EQ(CountNdjsonLines("{}\n{}"), 2u);
  EXPECT_EQ(CountNdjsonLines("{}\n\n{}\r\n"), 3u);
}

// A poll waits for the first message only, then takes what the queue holds: librdkafka's batch
// consume waits for all `max` messages until the timeout, which held a few messages undecoded
// for the whole wait (here 5 s) while a fetcher was behind.
TEST(Bus, APollReturnsOnceMessagesAreThere) {
  Cluster cluster(2);
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "first", {cluster.kafka.sensors_topic}, &store);
  PollUntilAssigned(*consumer, store);
  ASSERT_FALSE(consumer->Assignment().empty());
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 5);
  ASSERT_TRUE(producer->Flush(10s).ok());
  Batch batch;
  const auto start = std::chrono::steady_clock::now();
  while (batch.size() < 5 && std::chrono::steady_clock::now() - start < 20s) {
    ASSERT_TRUE(consumer->Poll(10000, 5s, batch).ok());
  }
  EXPECT_EQ(batch.size(), 5u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

// Waking the fetchers asks the brokers for the partitions' ends: it neither moves nor drops
// anything, and it is sent at most once per 100 ms however often a short poll asks.
TEST(Bus, WakingTheFetchersKeepsEveryMessageAndIsRateLimited) {
  Cluster cluster(2);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 500);
  ASSERT_TRUE(producer->Flush(10s).ok());
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "wake", {cluster.kafka.sensors_topic}, &store);
  consumer->WakeFetcher(1s);
  EXPECT_EQ(consumer->counters().fetcher_wakes.load(), 0) << "nothing assigned yet: a no-op";
  PollUntilAssigned(*consumer, store);
  ASSERT_FALSE(consumer->Assignment().empty());
  const auto first = std::chrono::steady_clock::now();
  consumer->WakeFetcher(1s);
  consumer->WakeFetcher(1s);
  if (std::chrono::steady_clock::now() - first < 100ms) {
    EXPECT_EQ(consumer->counters().fetcher_wakes.load(), 1);
  }
  EXPECT_GE(consumer->counters().fetcher_wakes.load(), 1);
  ConsumeUntil(*consumer, store, 500);
  EXPECT_EQ(store.unique(), 500u);
  EXPECT_EQ(store.duplicates(), 0);
}

TEST(Bus, PausedPartitionsAreNotFetchedUntilResumed) {
  Cluster cluster(2);
  auto producer = cluster.MakeProducer();
  ProduceNumbered(*producer, cluster.kafka.sensors_topic, 1000);
  ASSERT_TRUE(producer->Flush(10s).ok());
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "pause", {cluster.kafka.sensors_topic}, &store);
  Batch batch;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (consumer->Assignment().empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(consumer->Poll(1, 100ms, batch).ok());
  }
  store.Save(batch);
  ASSERT_FALSE(consumer->Assignment().empty());
  ASSERT_TRUE(consumer->Pause(consumer->Assignment()).ok());
  batch.Clear();
  ASSERT_TRUE(consumer->Poll(10000, 2s, batch).ok());
  const size_t while_paused = batch.size();  // at most what was already fetched before the pause
  store.Save(batch);
  batch.Clear();
  ASSERT_TRUE(consumer->Poll(10000, 1s, batch).ok());
  EXPECT_EQ(batch.size(), 0u) << "nothing arrives while paused";
  ASSERT_TRUE(consumer->Resume(consumer->Assignment()).ok());
  ConsumeUntil(*consumer, store, 1000);
  EXPECT_EQ(store.unique(), 1000u);
  EXPECT_LT(while_paused, 1000u);
}

// Interop with a Kafka tool nobody here wrote: the seed records produced by kcat reach dcmon's
// consumer unchanged and decode to the original values.
TEST(Bus, RecordsProducedWithKcatAreConsumed) {
  Cluster cluster(2);
  const std::string command = "kcat -P -b " + cluster.kafka.bootstrap + " -t " +
                              cluster.kafka.sensors_topic +
                              " -K '|' < " DCMON_TEST_DATA_DIR "/seed_records.ndjson.kcat 2>&1";
  // kcat reads key|value lines from stdin (a file argument would go as one message); the fixture is
  // the seed file with a device id key in front of each line.
  FILE* kcat = popen(command.c_str(), "r");
  ASSERT_NE(kcat, nullptr);
  char output[512] = {};
  const size_t n = fread(output, 1, sizeof output - 1, kcat);
  ASSERT_EQ(pclose(kcat), 0) << std::string(output, n);
  Store store;
  auto consumer = MakeConsumer(cluster.kafka, "kcat", {cluster.kafka.sensors_topic}, &store);
  ConsumeUntil(*consumer, store, 2);
  ASSERT_EQ(store.unique(), 2u);
  RecordDecoder decoder;
  const auto& sensor = store.by_key().at("temp_rack-a1");
  const auto& cooling = store.by_key().at("hvac_primary_a");
  EXPECT_EQ(std::get<SensorReading>(*decoder.Decode(sensor[0])).value, 23.5);
  EXPECT_EQ(std::get<CoolingMetric>(*decoder.Decode(cooling[0])).power_consumption_watts, 16800);
}

// A listener whose store says partition 0 was read up to offset 0 long ago.
class StaleStore : public Store {
 public:
  void OnAssigned(std::vector<PartitionOffset>& parts) override {
    for (auto& p : parts) p.offset = 0;
  }
};

TEST(Bus, OffsetsOutOfRetentionAreCountedAsLoss) {
  Cluster cluster(1);
  auto producer = cluster.MakeProducer();
  // ~12 MB of incompressible records into one partition: the embedded broker keeps about 5 MB.
  std::mt19937_64 rng(1);
  std::string payload(200, ' ');
  for (int i = 0; i < 60000; ++i) {
    for (char& ch : payload) ch = static_cast<char>('!' + rng() % 90);
    ASSERT_TRUE(
        producer->Produce(cluster.kafka.rejects_topic, "k", payload + std::to_string(i)).ok());
  }
  ASSERT_TRUE(producer->Flush(30s).ok());
  StaleStore store;
  auto consumer = MakeConsumer(cluster.kafka, "stale", {cluster.kafka.rejects_topic}, &store);
  Batch batch;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (consumer->counters().lost + static_cast<int64_t>(store.unique()) < 60000 &&
         std::chrono::steady_clock::now() < deadline) {
    batch.Clear();
    const Status s = consumer->Poll(10000, 100ms, batch);
    ASSERT_TRUE(s.ok()) << s.message();
    store.Save(batch);
  }
  EXPECT_GT(consumer->counters().lost, 30000);
  EXPECT_EQ(consumer->counters().lost + static_cast<int64_t>(store.unique()), 60000)
      << "every record is either read or counted as lost";
}

// The producer's and the consumer's waits are settings of their KafkaConfig, checked when created.
TEST(Bus, ATimeoutThatIsNotPositiveIsRefusedByName) {
  KafkaConfig no_wait{.bootstrap = "127.0.0.1:9"};
  no_wait.enqueue_timeout = 0ms;
  auto producer = Producer::Create(no_wait);
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.status().message(), "kafka enqueue_timeout: must be > 0 ms, got 0 ms");
  KafkaConfig negative{.bootstrap = "127.0.0.1:9"};
  negative.commit_timeout = -5ms;
  auto consumer = Consumer::Create(negative, "g", {negative.sensors_topic}, nullptr);
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.status().message(), "kafka commit_timeout: must be > 0 ms, got -5 ms");
}

// A partitioner librdkafka does not know is refused by name (Partitions() maps each one it knows).
TEST(Bus, AnUnknownPartitionerIsRefusedByName) {
  KafkaConfig kafka{.bootstrap = "127.0.0.1:9"};
  kafka.properties["partitioner"] = "round_robin";
  auto producer = Producer::Create(kafka);
  ASSERT_FALSE(producer.ok());
  EXPECT_THAT(producer.status().message(), ::testing::StartsWith("kafka property partitioner: "));
}

}  // namespace
}  // namespace dcmon::bus
