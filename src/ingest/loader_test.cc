// The loader end to end on the embedded broker and an in-memory or file store.
#include "ingest/loader.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "bus/embedded_broker.h"
#include "bus/kafka_sink.h"
#include "bus/producer.h"
#include "bus/record_messages.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"
#include "store/points.h"

namespace dcmon::ingest {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() {
    auto b = bus::EmbeddedBroker::Start({.partitions = kPartitions,
                                         .topics = {kafka.sensors_topic, kafka.cooling_topic,
                                                    kafka.rejects_topic, kafka.metrics_topic}});
    broker = std::move(*b);
    kafka.bootstrap = broker->bootstrap();
  }
  // Simulates `minutes` of the small preset from 16:00 + `from_minute` into Kafka, with `specs`
  // faults; returns the lines produced.
  int64_t Produce(int minutes, std::vector<std::string> specs = {}, int from_minute = 0) {
    const int64_t start = *ParseRfc3339("2025-08-21T16:00:00Z") + from_minute * 60000000LL;
    sim::SimulatorOptions options{.seed = 5, .start_micros = start};
    for (const auto& s : specs) options.faults.push_back(*sim::ParseFault(s, start));
    auto sim = *sim::Simulator::Create(*sim::LoadFacility("small"), options);
    bus::KafkaSink sink(*bus::Producer::Create(kafka), kafka);
    EXPECT_TRUE(sim->RunUntil(start + minutes * 60000000LL, sink, nullptr).ok());
    EXPECT_TRUE(sim->Finish(sink).ok());
    malformed = sim->counters().malformed;
    return sim->counters().records;
  }
  // The sum of `topic`'s partitions' end offsets: how many messages it holds (the simulator's hold
  // many records each).
  int64_t EndOffsets(const std::string& topic) {
    auto producer = *bus::Producer::Create(kafka);
    int64_t sum = 0;
    for (int32_t p = 0; p < kPartitions; ++p) {
      int64_t low = 0, high = 0;
      EXPECT_EQ(rd_kafka_query_watermark_offsets(producer->handle(), topic.c_str(), p, &low, &high,
                                                 10000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      sum += high;
    }
    return sum;
  }
  static constexpr int32_t kPartitions = 4;
  bus::KafkaConfig kafka;
  std::unique_ptr<bus::EmbeddedBroker> broker;
  int64_t malformed = 0;
};

// A sensor reading as JSON: device `device`, event time 2025-08-21T16:00:00Z + `second` s.
std::string Sensor(std::string_view device, int second, double value = 21.5) {
  return fmt::format(R"({{"source_type":"sensor","device_id":"{}","location":"Room 1",)"
                     R"("measurement_type":"temperature","value":{},"timestamp":"{}"}})",
                     device, value,
                     FormatRfc3339(*ParseRfc3339("2025-08-21T16:00:00Z") + second * 1000000LL));
}

// Produces each (key, value) to `topic` and waits for the broker's acks.
void ProduceLines(const bus::KafkaConfig& kafka, const std::string& topic,
                  const std::vector<std::pair<std::string, std::string>>& lines) {
  auto producer = *bus::Producer::Create(kafka);
  for (const auto& [key, value] : lines) ASSERT_TRUE(producer->Produce(topic, key, value).ok());
  ASSERT_TRUE(producer->Flush(10s).ok());
}

// Everything on `topic` as (value, reason header, position header), read by a fresh group.
std::vector<std::array<std::string, 3>> ReadDeadLetters(const bus::KafkaConfig& kafka,
                                                        size_t expected) {
  auto consumer =
      *bus::Consumer::Create(kafka, "dead-letter-reader", {kafka.rejects_topic}, nullptr);
  std::vector<std::array<std::string, 3>> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    bus::Batch batch;
    EXPECT_TRUE(consumer->Poll(1000, 200ms, batch).ok());
    for (size_t i = 0; i < batch.size(); ++i) {
      out.push_back({std::string(batch.message(i).value),
                     std::string(batch.header(i, "dcmon-reason").value_or("")),
                     std::string(batch.header(i, "dcmon-position").value_or(""))});
    }
  }
  return out;
}

int64_t Count(store::Database& db, const char* sql) {
  auto conn = *db.Connect();
  return (*conn->Query(sql)).Int64(0, 0);
}

// Every stored record as "device/measurement/event time".
std::set<std::string> Keys(store::Database& db) {
  auto conn = *db.Connect();
  auto r = *conn->Query(
      "SELECT concat_ws('/', device_id, measurement_type, epoch_us(event_time)) FROM "
      "sensor_readings UNION ALL SELECT concat_ws('/', system_id, '', epoch_us(event_time)) FROM "
      "cooling_metrics");
  std::set<std::string> out;
  for (size_t i = 0; i < r.rows(); ++i) out.insert(*r.Text(0, i));
  return out;
}

// How many of `a` are also in `b`.
size_t Overlap(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::vector<std::string> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return both.size();
}

void LoadUntil(Loader& loader, int64_t records, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (loader.counters().stored + loader.counters().rejected < records &&
         std::chrono::steady_clock::now() < deadline) {
    Status s = loader.RunOnce();
    ASSERT_TRUE(s.ok()) << s.message();
  }
}

TEST(Loader, LandsEverythingAndKeepsMalformedLinesAsRejects) {
  Fixture f;
  const int64_t produced = f.Produce(30, {"malformed@0m+30m*0.02"});
  ASSERT_GT(f.malformed, 50);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "512MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "load-all"});
  LoadUntil(*loader, produced);
  EXPECT_EQ(loader->counters().stored, produced - f.malformed);
  EXPECT_EQ(loader->counters().rejected, f.malformed);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings") +
                Count(*db, "SELECT count(*) FROM cooling_metrics"),
            produced - f.malformed);
  EXPECT_EQ(
      Count(*db, "SELECT count(*) FROM rejects WHERE reason <> '' AND position LIKE 'dc.%/%@%'"),
      f.malformed);
  // The loader also keeps its place on the rejects topic (it skips its own dead letters there).
  EXPECT_EQ(
      Count(*db, fmt::format("SELECT sum(next_offset) FROM ingest_offsets WHERE topic IN ({}, {})",
                             store::SqlString(f.kafka.sensors_topic),
                             store::SqlString(f.kafka.cooling_topic))
                     .c_str()),
      f.EndOffsets(f.kafka.sensors_topic) + f.EndOffsets(f.kafka.cooling_topic))
      << "every offset of the record topics accounted for";
}

// With the re-send window off, so that only the stored offsets can keep records from being stored
// twice.
TEST(Loader, ARestartedLoaderContinuesFromTheStoreWithoutDuplicates) {
  Fixture f;
  const int64_t produced = f.Produce(20);
  const std::string path = ::testing::TempDir() + "/restart.duckdb";
  std::filesystem::remove(path);
  {
    auto db = *store::Database::Open({.path = path, .memory_limit = "512MB", .threads = 1});
    auto loader = *Loader::Create(f.kafka, *db,
                                  {.group = "restart", .batch_records = 1000, .dedup_window = 0us});
    LoadUntil(*loader, produced / 2);
    ASSERT_TRUE(loader->Close().ok());
    EXPECT_EQ(loader->counters().duplicates, 0);
  }
  // The new loader's group has no Kafka offsets it trusts: the store's decide.
  auto db = *store::Database::Open({.path = path, .memory_limit = "512MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "restart-2", .dedup_window = 0us});
  const int64_t already = Count(*db, "SELECT count(*) FROM sensor_readings") +
                          Count(*db, "SELECT count(*) FROM cooling_metrics");
  LoadUntil(*loader, produced - already);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings") +
                Count(*db, "SELECT count(*) FROM cooling_metrics"),
            produced);
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM (SELECT device_id, seq FROM sensor_readings GROUP BY ALL "
                  "HAVING count(*) > 1)"),
            0);
  EXPECT_EQ(loader->counters().duplicates, 0) << "no re-send was made";
  EXPECT_EQ(loader->counters().stored, produced - already);
}

// Two loaders in one group, each with its own store (DuckDB has one writer per file, so a shared
// file is not the scale-out path) and its half of the partitions: together they hold the produced
// set, with no record in both.
TEST(Loader, TwoLoadersInOneGroupSplitTheRecordsWithoutOverlap) {
  Fixture f;
  const int64_t produced = f.Produce(20);
  auto db_a = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto db_b = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto a = *Loader::Create(f.kafka, *db_a,
                           {.group = "pair",
                            .membership = {.member = 0, .members = 2},
                            .batch_records = 2000,
                            .batch_time = 50ms});
  auto b = *Loader::Create(f.kafka, *db_b,
                           {.group = "pair",
                            .membership = {.member = 1, .members = 2},
                            .batch_records = 2000,
                            .batch_time = 50ms});
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (a->counters().stored + b->counters().stored < produced &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(a->RunOnce().ok());
    ASSERT_TRUE(b->RunOnce().ok());
  }
  EXPECT_GT(a->counters().stored, 0);
  EXPECT_GT(b->counters().stored, 0);
  EXPECT_EQ(a->counters().stored + b->counters().stored, produced);
  // No overlap: no (device, seq) pair is in both stores.
  const std::set<std::string> ka = Keys(*db_a), kb = Keys(*db_b);
  EXPECT_EQ(Overlap(ka, kb), 0u) << "records in both stores";
  EXPECT_EQ(static_cast<int64_t>(ka.size() + kb.size()), produced);
}

// Poison messages among good ones: the good ones are stored, the poison ones are in `rejects` and
// on the rejects topic with their reason and position, and loading goes on past them.
TEST(Loader, DeadLettersGoToTheRejectsTopicWithTheirReasons) {
  Fixture f;
  std::vector<std::pair<std::string, std::string>> lines;
  for (int i = 0; i < 100; ++i) lines.push_back({"d" + std::to_string(i % 7), Sensor("d", i)});
  lines.insert(lines.begin() + 10, {"p1", "hello"});
  lines.insert(lines.begin() + 50, {"p2", Sensor("d", 1000, 1).replace(0, 1, "[")});
  lines.insert(lines.begin() + 90, {"p3", R"({"source_type":"sensor","device_id":"d"})"});
  ProduceLines(f.kafka, f.kafka.sensors_topic, lines);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "dead-letters"});
  LoadUntil(*loader, 103);
  EXPECT_EQ(loader->counters().stored, 100);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM rejects"), 3);
  EXPECT_EQ(loader->counters().dead_letters, 3);
  const auto letters = ReadDeadLetters(f.kafka, 3);
  ASSERT_EQ(letters.size(), 3u);
  std::map<std::string, std::string> reason_of;
  for (const auto& [value, reason, position] : letters) {
    reason_of[value] = reason;
    EXPECT_THAT(position, ::testing::MatchesRegex("dc\\.sensors/[0-9]+@[0-9]+"));
  }
  EXPECT_THAT(reason_of["hello"], ::testing::StartsWith("record: malformed JSON"));
  EXPECT_THAT(reason_of[R"({"source_type":"sensor","device_id":"d"})"],
              ::testing::HasSubstr("missing"));
  EXPECT_EQ(loader->dead_letter_counters().failed, 0);
}

// HTTP ingest's messages hold several records as NDJSON lines (bus/record_messages.h): each is
// stored once, a re-send among them is dropped, a bad line is a reject and a dead letter of its own
// naming the message and the line, and a one-record message among them is read as before.
TEST(Loader, StoresEachRecordOfAnNdjsonMessageOnceAndRejectsOnlyItsBadLines) {
  Fixture f;
  const std::string bad = R"({"source_type":"sensor","device_id":"m"})";
  const std::string framed = Sensor("m", 0) + "\n" + Sensor("n", 0) + "\r\n\n" + bad + "\n" +
                             Sensor("m", 60) + "\n" + Sensor("m", 0, 99) + "\n";
  {
    auto producer = *bus::Producer::Create(f.kafka);
    for (const std::string& value : {framed, Sensor("single", 0)}) {
      ASSERT_TRUE(producer
                      ->Produce(f.kafka.sensors_topic, {}, value, bus::kNdjsonFramingHeaders,
                                nullptr,
                                /*partition=*/1)
                      .ok());
    }
    // Unframed, a message is one record even when it spans lines.
    std::string pretty = Sensor("pretty", 0);
    pretty.insert(pretty.find(R"(,"location")") + 1, "\n  ");
    ASSERT_TRUE(producer->Produce(f.kafka.sensors_topic, "k", pretty + "\n").ok());
    ASSERT_TRUE(producer->Flush(10s).ok());
  }
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "framed"});
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (loader->counters().stored + loader->counters().rejected + loader->counters().duplicates <
             7 &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(loader->RunOnce().ok());
  }
  EXPECT_EQ(loader->counters().stored, 5);
  EXPECT_EQ(loader->counters().duplicates, 1);
  EXPECT_EQ(Keys(*db), (std::set<std::string>{
                           "m/temperature/1755792000000000", "m/temperature/1755792060000000",
                           "n/temperature/1755792000000000", "pretty/temperature/1755792000000000",
                           "single/temperature/1755792000000000"}));
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings WHERE value = 99"), 0);
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM sensor_readings WHERE kafka_partition = 1 AND "
                  "kafka_offset = 0"),
            3);
  auto conn = *db->Connect();
  auto rejects = *conn->Query("SELECT position, decode(payload) FROM rejects");
  ASSERT_EQ(rejects.rows(), 1u);
  EXPECT_EQ(*rejects.Text(0, 0), "dc.sensors/1@0 line 4");
  EXPECT_EQ(*rejects.Text(1, 0), bad);
  const auto letters = ReadDeadLetters(f.kafka, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0][0], bad);
  EXPECT_THAT(letters[0][1], ::testing::HasSubstr("missing"));
  EXPECT_EQ(letters[0][2], "dc.sensors/1@0 line 4");
}

// A batch takes NDJSON messages whole and its bound counts their records: 30 messages of 40 records
// against a bound of 100 rows make batches of at most 100 rows (a message that would pass it starts
// the next batch; batches of 120 before). With the re-send window off, a loader stopped after its
// first batch and a new one on the same store land all 1,200 exactly once: a message's offset is
// committed with all of its records.
TEST(Loader, BatchesOfNdjsonMessagesAreBoundedInRowsAndStoredOnceAcrossARestart) {
  Fixture f;
  constexpr int kMessages = 30, kRecords = 40;
  {
    auto producer = *bus::Producer::Create(f.kafka);
    for (int m = 0; m < kMessages; ++m) {
      std::string value;
      for (int r = 0; r < kRecords; ++r) value += Sensor("b", m * kRecords + r) + "\n";
      ASSERT_TRUE(producer
                      ->Produce(f.kafka.sensors_topic, {}, value, bus::kNdjsonFramingHeaders,
                                nullptr,
                                /*partition=*/m % 4)
                      .ok());
    }
    ASSERT_TRUE(producer->Flush(10s).ok());
  }
  const std::string path = ::testing::TempDir() + "/framed-restart.duckdb";
  std::filesystem::remove(path);
  std::vector<int64_t> batch_rows;
  LoaderOptions options{.group = "framed-bound",
                        .batch_records = 100,
                        .batch_time = 2s,
                        .dedup_window = std::chrono::microseconds(0)};
  options.on_commit = [&](const store::WriteBatch& batch, const store::CommitStats& stats) {
    EXPECT_EQ(batch.origins.size(), batch.records.size());
    batch_rows.push_back(stats.sensor_rows);
  };
  int64_t first = 0;
  {
    auto db = *store::Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
    auto loader = *Loader::Create(f.kafka, *db, options);
    LoadUntil(*loader, 1);
    ASSERT_TRUE(loader->Close().ok());
    first = Count(*db, "SELECT count(*) FROM sensor_readings");
    ASSERT_LT(first, kMessages * kRecords);
  }
  auto db = *store::Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, options);
  LoadUntil(*loader, kMessages * kRecords - first);
  EXPECT_EQ(loader->counters().stored, kMessages * kRecords - first);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings"), kMessages * kRecords);
  EXPECT_EQ(Keys(*db).size(), static_cast<size_t>(kMessages * kRecords));
  for (int64_t rows : batch_rows) EXPECT_LE(rows, 100);
}

// Exact re-sends (same device, measurement and event time) within the window are dropped and
// counted; a late record (older than the device's newest) is stored and its lateness measured.
TEST(Loader, DropsReSendsAndMeasuresLateness) {
  Fixture f;
  ProduceLines(f.kafka, f.kafka.sensors_topic,
               {{"a", Sensor("a", 0)},
                {"a", Sensor("a", 600)},
                {"a", Sensor("a", 600, 99)},  // a re-send: same key, even with another value
                {"a", Sensor("a", 480)},      // two minutes late
                {"b", Sensor("b", 0)},
                {"a", Sensor("a", 0)}});  // a re-send ten minutes behind: still in the window
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "resends"});
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (loader->counters().stored + loader->counters().duplicates < 6 &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(loader->RunOnce().ok());
  }
  EXPECT_EQ(loader->counters().stored, 4);
  EXPECT_EQ(loader->counters().duplicates, 2);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings"), 4);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings WHERE value = 99"), 0);
  EXPECT_EQ(loader->counters().late, 1);
  EXPECT_EQ(loader->counters().late_max_micros, 120'000'000);
  EXPECT_EQ(loader->counters().late_last_micros, 120'000'000);
  EXPECT_GT(loader->counters().delay_max_micros, 0) << "event times are in 2025";
  EXPECT_GT(loader->counters().delay_last_micros, 0);
}

// After a restart the window is seeded from the store, so a re-send right after it is caught.
TEST(Loader, CatchesAReSendRightAfterARestart) {
  Fixture f;
  const std::string path = ::testing::TempDir() + "/resend-restart.duckdb";
  std::filesystem::remove(path);
  ProduceLines(f.kafka, f.kafka.sensors_topic, {{"a", Sensor("a", 0)}, {"a", Sensor("a", 60)}});
  {
    auto db = *store::Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
    auto loader = *Loader::Create(f.kafka, *db, {.group = "seed"});
    LoadUntil(*loader, 2);
    ASSERT_TRUE(loader->Close().ok());
  }
  ProduceLines(f.kafka, f.kafka.sensors_topic, {{"a", Sensor("a", 0)}, {"a", Sensor("a", 120)}});
  auto db = *store::Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "seed"});
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (loader->counters().stored + loader->counters().duplicates < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(loader->RunOnce().ok());
  }
  EXPECT_EQ(loader->counters().duplicates, 1);
  EXPECT_EQ(loader->counters().stored, 1);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings"), 3);
}

// The API's hook sees every stored record, once, after its commit.
TEST(Loader, OnCommitSeesEveryStoredRecord) {
  Fixture f;
  const int64_t produced = f.Produce(5);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  std::set<std::string> seen;
  int64_t rows = 0, calls = 0;
  auto loader = *Loader::Create(
      f.kafka, *db,
      {.group = "hook",
       .batch_records = 500,
       .on_commit = [&](const store::WriteBatch& batch, const store::CommitStats& stats) {
         ++calls;
         rows += stats.sensor_rows + stats.cooling_rows;
         EXPECT_EQ(static_cast<int64_t>(batch.records.size()),
                   stats.sensor_rows + stats.cooling_rows);
         for (const Record& r : batch.records) {
           const auto* s = std::get_if<SensorReading>(&r);
           seen.insert(
               fmt::format("{}/{}", DeviceIdOf(r), s ? *s->seq : *std::get<CoolingMetric>(r).seq));
         }
       }});
  LoadUntil(*loader, produced);
  EXPECT_EQ(rows, produced);
  EXPECT_EQ(static_cast<int64_t>(seen.size()), produced);
  EXPECT_EQ(calls, loader->counters().batches);
}

// The API reads the loader's state from its own threads while the loader thread runs. (The tsan
// preset would check it for data races, but librdkafka's own threads crash ThreadSanitizer in its
// allocator, the client's as well as the mock cluster's: with the broker in another process, a
// consumer's rdk:broker thread faults in getaddrinfo → TSan's realloc, its allocator cache unset.)
TEST(Loader, StateMayBeReadFromAnyThread) {
  Fixture f;
  const int64_t produced = f.Produce(5, {"malformed@0m+5m*0.02"});
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db,
                                {.group = "threads", .batch_records = 200, .lag_interval = 1ms});
  std::atomic<bool> done{false};
  int64_t reads = 0;
  std::thread reader([&] {
    while (!done) {
      const bool healthy = loader->healthy();
      const std::string error = loader->last_error();
      const std::vector<bus::PartitionLag> lags = loader->partition_lags();
      reads += healthy + error.size() + lags.size() + loader->counters().stored +
               loader->dead_letter_counters().acked;
    }
  });
  LoadUntil(*loader, produced);
  done = true;
  reader.join();
  EXPECT_GT(reads, 0);
  EXPECT_EQ(loader->counters().stored + loader->counters().rejected, produced);
}

// A store that refuses commits: another connection holds every row of ingest_offsets in an open
// transaction, so each commit of the loader (which upserts them) fails with a write conflict, as a
// full disk would fail it. The loader pauses, backs off, turns unhealthy and reads no more than two
// batches per try (the one that fails and the one decoded meanwhile, dropped with it); once the
// other transaction ends, everything lands once.
TEST(Loader, ACommitFailingStoreLosesNothingOnceItRecovers) {
  Fixture f;
  const int64_t produced = f.Produce(10);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db,
                                {.group = "failing",
                                 .batch_records = 300,
                                 .batch_time = 50ms,
                                 .retry_backoff = 20ms,
                                 .retry_backoff_max = 80ms,
                                 .unhealthy_failures = 3});
  auto blocker = *db->Connect();
  // Every partition has a row (offset 0 reads from the beginning, as no row does), so that the
  // blocker's update below covers them all. The loader has made the schema, and not read yet.
  for (const std::string& topic : {f.kafka.sensors_topic, f.kafka.cooling_topic}) {
    for (int p = 0; p < 4; ++p) {
      ASSERT_TRUE(blocker
                      ->Execute(fmt::format(
                          "INSERT INTO ingest_offsets VALUES ('{}', {}, 0, now())", topic, p))
                      .ok());
    }
  }
  LoadUntil(*loader, 1000);
  ASSERT_TRUE(loader->healthy());
  ASSERT_TRUE(blocker->Execute("BEGIN TRANSACTION").ok());
  ASSERT_TRUE(blocker->Execute("UPDATE ingest_offsets SET next_offset = next_offset").ok());
  const int64_t stored = loader->counters().stored, consumed = loader->consumer_counters().consumed;
  Status failed;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (loader->counters().commit_failures < 5 && std::chrono::steady_clock::now() < deadline) {
    if (Status s = loader->RunOnce(); !s.ok()) failed = s;
  }
  EXPECT_EQ(loader->counters().commit_failures, 5);
  EXPECT_THAT(failed.message(), ::testing::HasSubstr("nothing of the batch was kept"));
  EXPECT_FALSE(loader->healthy());
  EXPECT_FALSE(loader->last_error().empty()) << failed.message();
  EXPECT_EQ(loader->counters().stored, stored);
  // Paused and rewound: each try reads the same two batches again, nothing piles up.
  EXPECT_LE(loader->consumer_counters().consumed - consumed, 6 * 2 * 300);
  ASSERT_TRUE(blocker->Execute("ROLLBACK").ok());
  LoadUntil(*loader, produced);
  EXPECT_TRUE(loader->healthy());
  EXPECT_EQ(loader->counters().stored, produced);
  EXPECT_EQ(
      Count(*db, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM sensor_readings)"),
      Count(*db, "SELECT count(*) FROM sensor_readings"));
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings") +
                Count(*db, "SELECT count(*) FROM cooling_metrics"),
            produced);
}

// partition_lags(): every assigned partition, high watermark minus position; 0 once caught up.
TEST(Loader, ReportsLagPerPartition) {
  Fixture f;
  const int64_t produced = f.Produce(10);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader =
      *Loader::Create(f.kafka, *db, {.group = "lag", .batch_records = 100, .lag_interval = 1ms});
  auto total = [&] {
    int64_t sum = 0;
    for (const bus::PartitionLag& p : loader->partition_lags()) {
      EXPECT_GE(p.lag, 0) << p.topic << "/" << p.partition;
      sum += p.lag;
    }
    return sum;
  };
  LoadUntil(*loader, 100);
  ASSERT_TRUE(loader->RunOnce().ok());  // refreshes the lags of the position after the last batch
  EXPECT_EQ(loader->partition_lags().size(), 16u);  // sensors, cooling, metrics, rejects: 4 each
  EXPECT_GT(total(), 0);
  EXPECT_LE(total(), produced - 100);
  LoadUntil(*loader, produced);
  ASSERT_TRUE(loader->RunOnce().ok());
  EXPECT_EQ(total(), 0);
}

// 1,000 malformed lines of every kind, interleaved with 2,000 good ones: every good line is stored,
// every bad one is one row in `rejects` whose reason names the field (or "record" when it is not
// JSON at all), and loading goes on.
TEST(Loader, AThousandMalformedLinesAmongGoodOnes) {
  Fixture f;
  const std::string ts = R"("timestamp":"2025-08-21T16:00:00Z")";
  auto sensor = [](int i, std::string_view rest) {
    return fmt::format(R"({{"source_type":"sensor","device_id":"bad-{}","location":"l",)"
                       R"("measurement_type":"t",{}}})",
                       i, rest);
  };
  // Each malformed line with the start its reason must have.
  std::vector<std::pair<std::string, std::string>> bad;
  for (int i = 0; i < 1000; ++i) {
    switch (i % 10) {
      case 0:
        bad.push_back({sensor(i, R"("value":1,)" + ts).substr(0, 50), "record: "});
        break;
      case 1:
        bad.push_back({sensor(i, R"("value":"23.5",)" + ts), "value: "});
        break;
      case 2:
        bad.push_back({fmt::format(R"({{"source_type":"sensor","location":"l{}",)"
                                   R"("measurement_type":"t","value":1,{}}})",
                                   i, ts),
                       "device_id: missing"});
        break;
      case 3:
        bad.push_back({sensor(i, R"("value":NaN,)" + ts), "value: "});
        break;
      case 4:
        bad.push_back({sensor(i, R"("value":"NaN",)" + ts), "value: "});
        break;
      case 5:
        bad.push_back({sensor(i, R"("value":1,"timestamp":"yesterday")"), "timestamp: "});
        break;
      case 6:
        bad.push_back({sensor(i, R"("value":1,"timestamp":"2025-08-21T16:00:00")"), "timestamp: "});
        break;
      case 7:
        bad.push_back({sensor(i, R"("value":1,"unit":")" + std::string("\xff\xfe") + R"(",)" + ts),
                       "unit: invalid UTF-8"});
        break;
      case 8:
        bad.push_back({fmt::format(R"({{"source_type":"cooling","system_id":"c{}",)"
                                   R"("power_consumption_watts":1,{}}})",
                                   i, ts),
                       "efficiency_percent: missing"});
        break;
      case 9:
        bad.push_back({sensor(i, R"("value":true,)" + ts), "value: "});
        break;
    }
  }
  std::vector<std::pair<std::string, std::string>> lines;
  for (int i = 0; i < 1000; ++i) {
    lines.push_back({"g", Sensor("good-" + std::to_string(i % 50), 2 * i)});
    lines.push_back({"b", bad[i].first});
    lines.push_back({"g", Sensor("good-" + std::to_string(i % 50), 2 * i + 1)});
  }
  ProduceLines(f.kafka, f.kafka.sensors_topic, lines);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "thousand", .batch_records = 500});
  LoadUntil(*loader, 3000);
  EXPECT_EQ(loader->counters().stored, 2000);
  EXPECT_EQ(loader->counters().rejected, 1000);
  EXPECT_EQ(loader->counters().duplicates, 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM sensor_readings WHERE device_id LIKE 'good-%'"), 2000);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM rejects"), 1000);
  std::map<std::string, std::string> expected;  // hex(payload) -> start of the reason
  for (const auto& [line, reason] : bad) {
    std::string hex;
    for (unsigned char c : line) hex += fmt::format("{:02X}", c);
    expected[hex] = reason;
  }
  ASSERT_EQ(expected.size(), 1000u) << "every malformed line is different";
  auto conn = *db->Connect();
  auto r = *conn->Query("SELECT hex(payload), reason FROM rejects");
  ASSERT_EQ(r.rows(), 1000u);
  for (size_t i = 0; i < r.rows(); ++i) {
    const std::string reason = *r.Text(1, i);
    auto it = expected.find(*r.Text(0, i));
    ASSERT_NE(it, expected.end()) << "a reject that was not produced: " << reason;
    EXPECT_THAT(reason, ::testing::StartsWith(it->second));
    EXPECT_GT(reason.size(), it->second.size() + 2) << reason;
    expected.erase(it);
  }
  // And it goes on: a good line after all that is stored.
  ProduceLines(f.kafka, f.kafka.sensors_topic, {{"g", Sensor("after", 0)}});
  LoadUntil(*loader, 3001);
  EXPECT_EQ(loader->counters().stored, 2001);
}

// A partition handed to a loader whose store has never held it starts where the previous owner's
// Kafka commit (written after its store commit) says, not at the beginning: A loads half the stream
// and leaves, B takes over, and together they hold every record once.
TEST(Loader, AHandedOffPartitionStartsWhereThePreviousOwnerStopped) {
  Fixture f;
  const int64_t produced = f.Produce(20);
  auto db_a = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto db_b = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto a = *Loader::Create(f.kafka, *db_a, {.group = "handoff", .batch_records = 1000});
  LoadUntil(*a, produced / 2);
  ASSERT_TRUE(a->Close().ok());
  auto b = *Loader::Create(f.kafka, *db_b, {.group = "handoff"});
  LoadUntil(*b, produced - a->counters().stored, 30s);
  const std::set<std::string> ka = Keys(*db_a), kb = Keys(*db_b);
  EXPECT_EQ(Overlap(ka, kb), 0u) << "records in both stores";
  EXPECT_EQ(static_cast<int64_t>(ka.size() + kb.size()), produced);
  EXPECT_EQ(a->counters().stored + b->counters().stored, produced);
}

// Scaling out: A alone loads a stream that is still being produced, stops, and two loaders split
// the partitions from then on, A on its store and B on a new one. B starts its partitions at A's
// last Kafka commit (written after each store commit and once more on Close): nothing is lost and
// no record is in both stores, with the re-send window off so that only the offsets decide.
TEST(Loader, ScalingFromOneLoaderToTwoLosesAndDuplicatesNothing) {
  Fixture f;
  const int64_t first = f.Produce(10);
  auto db_a = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto db_b = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  const LoaderOptions options{
      .group = "scale", .batch_records = 200, .batch_time = 20ms, .dedup_window = 0us};
  auto alone = *Loader::Create(f.kafka, *db_a, options);
  std::atomic<int64_t> second{-1};
  std::thread producer([&] { second = f.Produce(10, {}, 10); });
  LoadUntil(*alone, first);
  ASSERT_TRUE(alone->Close().ok());
  LoaderOptions half = options;
  half.membership = {.member = 0, .members = 2};
  auto a = *Loader::Create(f.kafka, *db_a, half);
  half.membership = {.member = 1, .members = 2};
  auto b = *Loader::Create(f.kafka, *db_b, half);
  producer.join();
  const int64_t total = first + second;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (alone->counters().stored + a->counters().stored + b->counters().stored < total &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(a->RunOnce().ok());
    ASSERT_TRUE(b->RunOnce().ok());
  }
  EXPECT_GT(b->counters().stored, 0);
  const std::set<std::string> ka = Keys(*db_a), kb = Keys(*db_b);
  EXPECT_EQ(Overlap(ka, kb), 0u) << "records in both stores";
  EXPECT_EQ(static_cast<int64_t>(ka.size() + kb.size()), total) << "lost";
  EXPECT_EQ(alone->counters().duplicates + a->counters().duplicates + b->counters().duplicates, 0);
}

// batch_records bounds rows, not Kafka messages: a points message from HTTP ingest holds thousands
// of metric rows, so a backlog of them must not make a batch of millions of rows. 40 messages of
// 50 points with 4 fields (200 rows each) against a bound of 1,000 rows: every batch ends within
// one message of the bound (the first included, before the loader has seen a points message), and
// all 8,000 rows land once.
TEST(Loader, BatchesOfPointsMessagesAreBoundedInRows) {
  Fixture f;
  constexpr int kMessages = 40, kPoints = 50, kRowsPerMessage = kPoints * 4;
  std::vector<std::pair<std::string, std::string>> messages;
  for (int m = 0; m < kMessages; ++m) {
    std::string message;
    store::StartPointsMessage(message);
    for (int p = 0; p < kPoints; ++p) {
      Point point{.measurement = "cpu", .tags = {{"host", fmt::format("h{}", m)}}};
      for (const char* key : {"a", "b", "c", "d"})
        point.fields.push_back({.key = key, .number = 1});
      point.time_micros = (m * kPoints + p) * 1000000LL;
      store::AppendPoint(point, message);
    }
    messages.emplace_back("", std::move(message));
  }
  ProduceLines(f.kafka, f.kafka.metrics_topic, messages);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  std::vector<int64_t> batch_rows;
  LoaderOptions options{.group = "points", .batch_records = 1000, .batch_time = 2s};
  options.on_commit = [&](const store::WriteBatch&, const store::CommitStats& stats) {
    batch_rows.push_back(stats.metric_rows);
  };
  auto loader = *Loader::Create(f.kafka, *db, options);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (Count(*db, "SELECT count(*) FROM metrics") < kMessages * kRowsPerMessage &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(loader->RunOnce().ok());
  }
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM metrics"), kMessages * kRowsPerMessage);
  ASSERT_FALSE(batch_rows.empty());
  for (int64_t rows : batch_rows) EXPECT_LE(rows, 1000 + kRowsPerMessage);
  EXPECT_GE(*std::max_element(batch_rows.begin(), batch_rows.end()), 1000)
      << "batches fill up to the bound from the backlog";
}

// A batch closes when one table has batch_records rows, not when all tables together do: DuckDB
// moves an append of a full row group straight into the table and copies a smaller one again at
// commit, so a backlog's sensor rows alone must fill the row group. 1,000 readings with a cooling
// record after every fourth, against a bound of 500 rows: the first batch holds 500 readings and
// the 124 cooling records among them (it held 400 and 100).
// In a backlog, a batch with records in hand that is past its live deadline waits for the
// fetcher until the batch's deadline: a wait of 0 there spun on the empty queue (450,000 empty
// polls in a 4-day drain, a core taken from the fetcher and the commit).
TEST(Loader, PollsInABacklogWaitForTheFetcher) {
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = now + 150ms, live_deadline = now - 1ms;
  EXPECT_EQ(PollWait(now, deadline, live_deadline, false, true, /*backlog=*/true), 150ms);
  // Live: what is in hand lands at the live deadline.
  EXPECT_EQ(PollWait(now, deadline, live_deadline, false, true, /*backlog=*/false), 0ms);
  EXPECT_EQ(PollWait(now, deadline, now + 20ms, false, true, false), 20ms);
  EXPECT_EQ(PollWait(now, deadline, live_deadline, false, /*polled=*/false, false), 150ms);
  // A commit in flight: short waits, so that its end is seen soon.
  EXPECT_EQ(PollWait(now, deadline, live_deadline, /*in_flight=*/true, true, true), 5ms);
  EXPECT_EQ(PollWait(now, now - 1ms, live_deadline, true, true, false), 1ms);
}

// A lag counts messages: 200 framed messages of 700 records are a backlog for batches of 122,880
// rows, 200 one-record messages are not.
TEST(Loader, ABacklogIsCountedInRowsNotMessages) {
  EXPECT_TRUE(IsBacklog(200, 700.0, 122880));
  EXPECT_FALSE(IsBacklog(200, 1.0, 122880));
  EXPECT_FALSE(IsBacklog(175, 700.0, 122880));
  EXPECT_TRUE(IsBacklog(122881, 1.0, 122880));
}

TEST(Loader, ABatchClosesWhenOneTableIsFull) {
  Fixture f;
  std::vector<std::pair<std::string, std::string>> lines;
  for (int i = 0; i < 1000; ++i) {
    lines.emplace_back("t1", Sensor("t1", i));
    if (i % 4 == 3) {
      lines.emplace_back(
          "crah-1",
          fmt::format(R"({{"source_type":"cooling","system_id":"crah-1","efficiency_percent":90,)"
                      R"("power_consumption_watts":1000,"timestamp":"{}"}})",
                      FormatRfc3339(*ParseRfc3339("2025-08-21T16:00:00Z") + i * 1000000LL)));
    }
  }
  // One key, so one partition, in this order.
  for (auto& [key, value] : lines) key = "k";
  ProduceLines(f.kafka, f.kafka.sensors_topic, lines);
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  std::vector<store::CommitStats> batches;
  // Batches close on their bound here, not after a pause in the consumer's fetches.
  LoaderOptions options{
      .group = "full", .batch_records = 500, .batch_time = 1s, .live_batch_time = 1s};
  options.on_commit = [&](const store::WriteBatch&, const store::CommitStats& stats) {
    batches.push_back(stats);
  };
  auto loader = *Loader::Create(f.kafka, *db, options);
  LoadUntil(*loader, static_cast<int64_t>(lines.size()));
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches[0].sensor_rows, 500);
  EXPECT_EQ(batches[0].cooling_rows, 124);
}

// The [loader] keys, and errors that name the key, the value and where it came from.
TEST(Loader, OptionsFromTheConfig) {
  Result<Config> c = Config::Parse(
      "[loader]\ngroup = \"g\"\nmember = 1\nmembers = 3\ndedup_window = \"90s\"\n", "dcmon.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  Result<LoaderOptions> o = LoaderOptionsFrom(*c);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->group, "g");
  EXPECT_EQ(o->membership.member, 1);
  EXPECT_EQ(o->membership.members, 3);
  EXPECT_EQ(o->dedup_window, 90s);
  Result<LoaderOptions> defaults = LoaderOptionsFrom(Config());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->dedup_window, LoaderOptions().dedup_window);
  EXPECT_EQ(defaults->membership.members, 1);
  c->SetFlag("loader.dedup_window", "0");
  EXPECT_EQ(LoaderOptionsFrom(*c)->dedup_window, 0us) << "0 turns it off";
  c->SetFlag("loader.dedup_window", "10 minutes");
  EXPECT_THAT(LoaderOptionsFrom(*c).status().message(),
              ::testing::AllOf(::testing::HasSubstr("loader.dedup_window"),
                               ::testing::HasSubstr("\"10 minutes\"")));
  c->SetFlag("loader.dedup_window", "0");
  EXPECT_EQ(defaults->batch_records, 122880u);
  c->SetFlag("loader.batch_records", "50000");
  EXPECT_EQ(LoaderOptionsFrom(*c)->batch_records, 50000u);
  c->SetFlag("loader.batch_records", "0");
  EXPECT_THAT(LoaderOptionsFrom(*c).status().message(),
              ::testing::HasSubstr("loader.batch_records"));
  c->SetFlag("loader.batch_records", "50000");
  c->SetFlag("loader.member", "3");
  EXPECT_THAT(
      LoaderOptionsFrom(*c).status().message(),
      ::testing::AllOf(::testing::HasSubstr("loader.member"), ::testing::HasSubstr("0 to 2")));
}

}  // namespace
}  // namespace dcmon::ingest
