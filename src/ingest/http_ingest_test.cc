// HttpIngest on the embedded broker: what a body becomes in Kafka.
#include "ingest/http_ingest.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "bus/consumer.h"
#include "bus/embedded_broker.h"
#include "bus/record_messages.h"

namespace dcmon::ingest {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 8;

std::string Sensor(int device, int second) {
  return fmt::format(
      R"({{"source_type":"sensor","device_id":"dev-{}","location":"Room 1",)"
      R"("measurement_type":"temperature","value":21.5,"timestamp":"2025-08-21T16:{:02d}:{:02d}Z"}})",
      device, second / 60, second % 60);
}

std::string Cooling(int system, int second) {
  return fmt::format(
      R"({{"source_type":"cooling","system_id":"crah-{}","efficiency_percent":90,)"
      R"("power_consumption_watts":1000,"timestamp":"2025-08-21T16:{:02d}:{:02d}Z"}})",
      system, second / 60, second % 60);
}

// One message as read back from Kafka.
struct Message {
  std::string topic;
  int32_t partition;
  std::string key, value;
  bool framed;
};

class HttpIngestTest : public ::testing::Test {
 protected:
  void SetUp() override { Start("consistent_random"); }

  void Start(const char* partitioner) {
    broker_ = std::move(
        *bus::EmbeddedBroker::Start({.partitions = kPartitions,
                                     .topics = {kafka_.sensors_topic, kafka_.cooling_topic,
                                                kafka_.rejects_topic, kafka_.metrics_topic}}));
    kafka_.bootstrap = broker_->bootstrap();
    kafka_.properties["partitioner"] = partitioner;
    producer_ = std::move(*bus::Producer::Create(kafka_));
  }

  // Produces one unframed probe message per key, after what is in Kafka already.
  void Probe(const std::string& topic, const std::vector<std::string>& keys) {
    for (const std::string& key : keys) ASSERT_TRUE(producer_->Produce(topic, key, "probe").ok());
    ASSERT_TRUE(producer_->Flush(10s).ok());
  }

  // The messages on the sensors and cooling topics, in each partition's order, up to the last of
  // `probes` probes: each partition a body wrote to holds a probe after the body's messages.
  std::vector<Message> ReadUntilProbes(size_t probes) {
    auto consumer = *bus::Consumer::Create(kafka_, "reader",
                                           {kafka_.sensors_topic, kafka_.cooling_topic}, nullptr);
    std::vector<Message> out;
    size_t seen = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (seen < probes && std::chrono::steady_clock::now() < deadline) {
      bus::Batch batch;
      EXPECT_TRUE(consumer->Poll(1000, 200ms, batch).ok());
      for (size_t i = 0; i < batch.size(); ++i) {
        const bus::Batch::View m = batch.message(i);
        out.push_back({std::string(m.topic), m.partition, std::string(m.key), std::string(m.value),
                       bus::IsNdjsonFramed(batch, i)});
        seen += !out.back().framed;
      }
    }
    EXPECT_EQ(seen, probes);
    return out;
  }

  bus::KafkaConfig kafka_;
  std::unique_ptr<bus::EmbeddedBroker> broker_;
  std::unique_ptr<bus::Producer> producer_;
};

// A body's records arrive as one NDJSON message per (topic, partition) it touches, each record in
// the partition librdkafka's configured partitioner picks for its device id (where a one-record
// message keyed by it goes), each device's records in body order; a bad line is a reject.
class HttpIngestPartitionerTest : public HttpIngestTest,
                                  public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override { Start(GetParam()); }
};

TEST_P(HttpIngestPartitionerTest,
       ABodyIsOneMessagePerPartitionWithEachRecordInItsDevicesPartition) {
  HttpIngest ingest(*producer_, kafka_);
  std::string body;
  constexpr int kSensors = 300, kCooling = 20;
  for (int i = 0; i < kSensors; ++i) {
    body += Sensor(i % 30, i) + "\n";
    if (i % 15 == 0) body += Cooling(i % 4, i) + "\n";
  }
  body += "{\"source_type\":1}\n";
  Result<IngestOutcome> r = ingest.Records(body, "10.0.0.1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->accepted, kSensors + kCooling);
  ASSERT_EQ(r->rejects.size(), 1u);
  EXPECT_EQ(r->rejects[0].line, kSensors + kCooling + 1);
  std::vector<std::string> devices, systems;
  for (int d = 0; d < 30; ++d) devices.push_back(fmt::format("dev-{}", d));
  for (int s = 0; s < 4; ++s) systems.push_back(fmt::format("crah-{}", s));
  Probe(kafka_.sensors_topic, devices);
  Probe(kafka_.cooling_topic, systems);
  // The producer counts records, not messages (dcmon_ingest_records_total): the body's, its reject
  // and the probes.
  EXPECT_EQ(producer_->counters().acked.load(), kSensors + kCooling + 1 + 34);

  const std::vector<Message> all = ReadUntilProbes(devices.size() + systems.size());
  std::map<std::string, int32_t> partition_of;  // the probes'
  for (const Message& m : all) {
    if (!m.framed) partition_of[m.key] = m.partition;
  }
  RecordDecoder decoder;
  std::map<std::string, int64_t> last_time;
  std::set<std::pair<std::string, int32_t>> partitions;
  int64_t records = 0;
  for (const Message& m : all) {
    if (!m.framed) continue;
    EXPECT_TRUE(partitions.emplace(m.topic, m.partition).second)
        << "a second message for " << m.topic << "/" << m.partition;
    EXPECT_TRUE(m.key.empty());
    bus::ForEachNdjsonLine(m.value, [&](std::string_view line, int64_t) {
      Result<Record> record = decoder.Decode(line);
      EXPECT_TRUE(record.ok()) << line;
      if (!record.ok()) return false;
      const bool sensor = std::holds_alternative<SensorReading>(*record);
      const std::string device(DeviceIdOf(*record));
      EXPECT_EQ(m.topic, sensor ? kafka_.sensors_topic : kafka_.cooling_topic);
      EXPECT_EQ(m.partition, partition_of.at(device)) << device;
      const int64_t time = sensor ? std::get<SensorReading>(*record).timestamp_micros
                                  : std::get<CoolingMetric>(*record).timestamp_micros;
      EXPECT_GT(time, last_time[device]) << device << " out of body order";
      last_time[device] = time;
      ++records;
      return true;
    });
  }
  EXPECT_EQ(records, kSensors + kCooling);
}

INSTANTIATE_TEST_SUITE_P(Partitioners, HttpIngestPartitionerTest,
                         ::testing::Values("consistent_random", "murmur2", "fnv1a"));

// A partition's records fill messages of about message_bytes, one after another in body order.
TEST_F(HttpIngestTest, MessagesAreBoundedInBytes) {
  HttpIngest ingest(*producer_, kafka_, {.message_bytes = 2048});
  std::string body;
  constexpr int kRecords = 400;
  for (int i = 0; i < kRecords; ++i) body += Sensor(i % 3, i) + "\n";
  Result<IngestOutcome> r = ingest.Records(body, "10.0.0.1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->accepted, kRecords);
  Probe(kafka_.sensors_topic, {"dev-0", "dev-1", "dev-2"});
  const size_t line_bytes = Sensor(0, 0).size() + 1;
  int64_t records = 0;
  size_t messages = 0;
  std::map<int, int> next;  // per device: its records come in body order
  RecordDecoder decoder;
  for (const Message& m : ReadUntilProbes(3)) {
    if (!m.framed) continue;
    ++messages;
    // Sent once it holds 2048 bytes: at most one line more.
    EXPECT_LT(m.value.size(), 2048 + line_bytes);
    bus::ForEachNdjsonLine(m.value, [&](std::string_view line, int64_t) {
      Result<Record> record = decoder.Decode(line);
      EXPECT_TRUE(record.ok()) << line;
      if (!record.ok()) return false;
      const int device = std::get<SensorReading>(*record).device_id.back() - '0';
      EXPECT_EQ(line, Sensor(device, next[device]++ * 3 + device));
      ++records;
      return true;
    });
  }
  EXPECT_EQ(records, kRecords);
  EXPECT_GE(messages, kRecords * line_bytes / (2048 + line_bytes));
}

// With no broker to say how many partitions a topic has, a body is refused within ack_timeout
// (the route answers 503) and nothing is produced.
TEST(HttpIngest, NoBrokerIsUnavailableWithinTheDeadline) {
  bus::KafkaConfig kafka{.bootstrap = "127.0.0.1:1"};
  auto producer = *bus::Producer::Create(kafka);
  HttpIngest ingest(*producer, kafka, {.ack_timeout = 1s});
  const auto start = std::chrono::steady_clock::now();
  Result<IngestOutcome> r = ingest.Records(Sensor(1, 0) + "\n", "10.0.0.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(),
              ::testing::HasSubstr("kafka topic dc.sensors: partitions unknown"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(producer->counters().produced.load(), 0);
}

}  // namespace
}  // namespace dcmon::ingest
