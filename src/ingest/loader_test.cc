// The loader end to end on the embedded broker and an in-memory or file store.
#include "ingest/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "bus/embedded_broker.h"
#include "bus/kafka_sink.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace dcmon::ingest {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() {
    auto b = bus::EmbeddedBroker::Start(
        {.partitions = 4,
         .topics = {kafka.sensors_topic, kafka.cooling_topic, kafka.rejects_topic}});
    broker = std::move(*b);
    kafka.bootstrap = broker->bootstrap();
    kafka.properties["session.timeout.ms"] = "6000";
  }
  // Simulates `minutes` of the small preset into Kafka, with `specs` faults; returns the lines
  // produced.
  int64_t Produce(int minutes, std::vector<std::string> specs = {}) {
    const int64_t start = *ParseRfc3339("2025-08-21T16:00:00Z");
    sim::SimulatorOptions options{.seed = 5, .start_micros = start};
    for (const auto& s : specs) options.faults.push_back(*sim::ParseFault(s, start));
    auto sim = *sim::Simulator::Create(*sim::LoadFacility("small"), options);
    bus::KafkaConfig producer_config = kafka;
    producer_config.properties.clear();
    bus::KafkaSink sink(*bus::Producer::Create(producer_config), producer_config);
    EXPECT_TRUE(sim->RunUntil(start + minutes * 60000000LL, sink, nullptr).ok());
    EXPECT_TRUE(sim->Finish(sink).ok());
    malformed = sim->counters().malformed;
    return sim->counters().records;
  }
  bus::KafkaConfig kafka;
  std::unique_ptr<bus::EmbeddedBroker> broker;
  int64_t malformed = 0;
};

int64_t Count(store::Database& db, const char* sql) {
  auto conn = *db.Connect();
  return (*conn->Query(sql)).Int64(0, 0);
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
  EXPECT_EQ(Count(*db, "SELECT sum(next_offset) FROM ingest_offsets"), produced)
      << "every offset accounted for";
}

TEST(Loader, ARestartedLoaderContinuesFromTheStoreWithoutDuplicates) {
  Fixture f;
  const int64_t produced = f.Produce(20);
  const std::string path = ::testing::TempDir() + "/restart.duckdb";
  std::filesystem::remove(path);
  {
    auto db = *store::Database::Open({.path = path, .memory_limit = "512MB", .threads = 1});
    auto loader = *Loader::Create(f.kafka, *db, {.group = "restart", .batch_records = 1000});
    LoadUntil(*loader, produced / 2);
    ASSERT_TRUE(loader->Close().ok());
  }
  // The new loader's group has no Kafka offsets it trusts: the store's decide.
  auto db = *store::Database::Open({.path = path, .memory_limit = "512MB", .threads = 1});
  auto loader = *Loader::Create(f.kafka, *db, {.group = "restart-2"});
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
}

// Two loaders in one group, each with its own store (DuckDB has one writer per file, so a shared
// file is not the scale-out path): together they hold the produced set, with no record in both.
// Both join before they read, so no partition moves between stores mid-stream: that hand-off is not
// handled yet (docs/store.md).
TEST(Loader, TwoLoadersInOneGroupSplitTheRecordsWithoutOverlap) {
  Fixture f;
  const int64_t produced = f.Produce(20);
  auto db_a = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto db_b = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto a =
      *Loader::Create(f.kafka, *db_a, {.group = "pair", .batch_records = 2000, .batch_time = 50ms});
  auto b =
      *Loader::Create(f.kafka, *db_b, {.group = "pair", .batch_records = 2000, .batch_time = 50ms});
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
  auto keys = [](store::Database& db) {
    auto conn = *db.Connect();
    auto r = *conn->Query(
        "SELECT device_id || '/' || seq FROM sensor_readings UNION ALL SELECT system_id || '/' || "
        "seq FROM cooling_metrics");
    std::set<std::string> out;
    for (size_t i = 0; i < r.rows(); ++i) out.insert(*r.Text(0, i));
    return out;
  };
  const std::set<std::string> ka = keys(*db_a), kb = keys(*db_b);
  std::vector<std::string> both;
  std::set_intersection(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty()) << both.size() << " records in both stores, e.g. " << both.front();
  EXPECT_EQ(static_cast<int64_t>(ka.size() + kb.size()), produced);
}

}  // namespace
}  // namespace dcmon::ingest
