#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/record_json.h"
#include "core/time.h"
#include "store/duckdb.h"
#include "store/schema.h"
#include "store/writer.h"

namespace dcmon::store {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Database> Open(const std::string& path = ":memory:") {
  auto db = Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
  EXPECT_TRUE(db.ok()) << db.status().message();
  return std::move(*db);
}

TEST(Store, OpensWithExplicitLimits) {
  auto db = Open();
  auto conn = db->Connect();
  ASSERT_TRUE(conn.ok());
  Result<QueryResult> r =
      (*conn)->Query("SELECT current_setting('threads'), current_setting('memory_limit')");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Text(0, 0), "1");
  EXPECT_THAT(*r->Text(1, 0), HasSubstr("MiB"));  // 256MB as DuckDB prints it
  r = (*conn)->Query("SELECT current_setting('checkpoint_threshold')");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Text(0, 0), "61.0 MiB");  // 64MB
}

TEST(Store, ErrorsCarryDuckDbsMessage) {
  auto db = Open();
  auto conn = *db->Connect();
  Status s = conn->Execute("SELEC 1");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("duckdb query: Parser Error"));
  EXPECT_THAT(Database::Open({.path = "/proc/no/such/dir/x.duckdb"}).status().message(),
              HasSubstr("/proc/no/such"));
  EXPECT_THAT(Database::Open({.path = ":memory:", .memory_limit = "lots"}).status().message(),
              HasSubstr("memory_limit"));
}

TEST(Store, MigratesANewDatabaseAndReopensIdempotently) {
  const std::string path = ::testing::TempDir() + "/migrate.duckdb";
  std::filesystem::remove(path);
  {
    auto db = Open(path);
    auto conn = *db->Connect();
    Result<int> v = Migrate(*conn);
    ASSERT_TRUE(v.ok()) << v.status().message();
    EXPECT_EQ(*v, 0);
    for (const char* table : {"sensor_readings", "cooling_metrics", "rejects", "ingest_offsets",
                              "devices", "rollups_1m"}) {
      EXPECT_TRUE(conn->Execute(std::string("SELECT * FROM ") + table + " LIMIT 0").ok()) << table;
    }
  }
  auto db = Open(path);
  auto conn = *db->Connect();
  Result<int> v = Migrate(*conn);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, kSchemaVersion);
  EXPECT_EQ((*conn->Query("SELECT count(*) FROM dcmon_schema")).Int64(0, 0), kSchemaVersion);
}

TEST(Store, RefusesAFileFromANewerDcmon) {
  auto db = Open();
  auto conn = *db->Connect();
  ASSERT_TRUE(Migrate(*conn).ok());
  ASSERT_TRUE(conn->Execute("INSERT INTO dcmon_schema VALUES (99, now())").ok());
  Result<int> v = Migrate(*conn);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("schema version 99, written by a newer dcmon"));
}

const int64_t kT = 1755794880LL * 1000000;  // 2025-08-21T16:48:00Z

SensorReading Reading(const std::string& device, double value, int64_t t) {
  return SensorReading{.device_id = device,
                       .location = "Room 1",
                       .measurement_type = "temperature",
                       .value = value,
                       .timestamp_micros = t,
                       .unit = "celsius",
                       .seq = t / 30000000,
                       .placement = {"dc1", "room-1", "a", "room-1-a01"},
                       .position = "inlet_top"};
}

TEST(Writer, SeedRecordsLandWithEveryValueIntact) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  std::ifstream in(DCMON_TEST_DATA_DIR "/seed_records.ndjson");
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  RecordDecoder decoder;
  NdjsonBatch decoded;
  decoder.DecodeNdjson(body, decoded);
  WriteBatch batch;
  batch.records = decoded.records;
  Result<CommitStats> stats = writer->Commit(batch, kT + 1000);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->sensor_rows, 1);
  EXPECT_EQ(stats->cooling_rows, 1);
  EXPECT_EQ(stats->first_ingest_seq, 1);
  EXPECT_EQ(stats->last_ingest_seq, 2);
  auto& c = writer->connection();
  Result<QueryResult> r = c.Query(
      "SELECT ingest_seq, device_id, location, measurement_type, value, strftime(event_time, "
      "'%Y-%m-%dT%H:%M:%SZ'), "
      "unit, kafka_topic FROM sensor_readings");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Int64(0, 0), 1);
  EXPECT_EQ(r->Text(1, 0), "temp_rack-a1");
  EXPECT_EQ(r->Text(2, 0), "Server Room A");
  EXPECT_EQ(r->Text(3, 0), "temperature");
  EXPECT_EQ(r->Double(4, 0), 23.5);
  EXPECT_EQ(r->Text(5, 0), "2025-08-21T16:48:00Z");
  EXPECT_EQ(r->Text(6, 0), std::nullopt);
  EXPECT_EQ(r->Text(7, 0), std::nullopt);
  r = c.Query(
      "SELECT ingest_seq, system_id, efficiency_percent, power_consumption_watts, "
      "epoch_us(event_time) "
      "FROM cooling_metrics");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Int64(0, 0), 2);
  EXPECT_EQ(r->Text(1, 0), "hvac_primary_a");
  EXPECT_EQ(r->Double(2, 0), 89.2);
  EXPECT_EQ(r->Double(3, 0), 16800);
  EXPECT_EQ(r->Int64(4, 0), kT);
}

TEST(Writer, RowsRejectsAndOffsetsCommitTogetherOrNotAtAll) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  WriteBatch batch;
  for (int i = 0; i < 5000; ++i)
    batch.records.push_back(Reading("d" + std::to_string(i % 7), i, kT + i * 1000000LL));
  batch.rejects.push_back(
      {"kafka", "dc.sensors/0@17", "value: expected a number, got string", "{\"value\":\"x\"}"});
  batch.offsets = {{"dc.sensors", 0, 5018}};
  ASSERT_TRUE(writer->Commit(batch, kT).ok());
  EXPECT_EQ(*writer->Offsets(), (std::vector<StoredOffset>{{"dc.sensors", 0, 5018}}));

  // A batch that fails after its rows were appended (here: the rollup table is missing) leaves
  // nothing behind.
  auto& c = writer->connection();
  auto count = [&c] { return (*c.Query("SELECT count(*) FROM sensor_readings")).Int64(0, 0); };
  ASSERT_TRUE(c.Execute("ALTER TABLE rollups_1m RENAME TO rollups_away").ok());
  WriteBatch next;
  next.records = {Reading("d0", 1, kT), Reading("d1", 2, kT)};
  next.rejects = batch.rejects;
  next.offsets = {{"dc.sensors", 0, 5021}};
  Result<CommitStats> failed = writer->Commit(next, kT);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("rollups_1m"));
  EXPECT_EQ(count(), 5000);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM rejects")).Int64(0, 0), 1);
  EXPECT_EQ(*writer->Offsets(), (std::vector<StoredOffset>{{"dc.sensors", 0, 5018}}));
  // Once the cause is gone the same batch commits, with the ingest sequence where it was.
  ASSERT_TRUE(c.Execute("ALTER TABLE rollups_away RENAME TO rollups_1m").ok());
  Result<CommitStats> ok = writer->Commit(next, kT);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->first_ingest_seq, 5001);
  EXPECT_EQ(count(), 5002);
  EXPECT_EQ(*writer->Offsets(), (std::vector<StoredOffset>{{"dc.sensors", 0, 5021}}));
}

// Regression: a reject whose bytes are not UTF-8 (a line mangled in transit) failed the whole batch
// while the payload column was VARCHAR.
TEST(Writer, RejectsKeepPayloadsByteForByte) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  WriteBatch batch;
  batch.rejects.push_back({"kafka", "dc.sensors/1@7", "record: invalid UTF-8 at byte 0",
                           std::string("\xff\xfe{\"a\"", 6)});
  ASSERT_TRUE(writer->Commit(batch, kT).ok());
  Result<QueryResult> r = writer->connection().Query("SELECT hex(payload), reason FROM rejects");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Text(0, 0), "FFFE7B226122");
  EXPECT_EQ(r->Text(1, 0), "record: invalid UTF-8 at byte 0");
}

TEST(Writer, IngestSequenceContinuesAfterReopen) {
  const std::string path = ::testing::TempDir() + "/seq.duckdb";
  std::filesystem::remove(path);
  {
    auto db = Open(path);
    auto writer = *Writer::Create(*db);
    WriteBatch b;
    b.records = {Reading("a", 1, kT), Reading("b", 2, kT)};
    ASSERT_TRUE(writer->Commit(b, kT).ok());
  }
  auto db = Open(path);
  auto writer = *Writer::Create(*db);
  EXPECT_EQ(writer->last_ingest_seq(), 2);
  WriteBatch b;
  b.records = {Reading("a", 3, kT + 1)};
  EXPECT_EQ(writer->Commit(b, kT)->first_ingest_seq, 3);
}

TEST(Writer, RollupsAndDevicesFollowTheData) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  WriteBatch b;
  b.records = {Reading("a", 20, kT), Reading("a", 22, kT + 20000000),
               Reading("a", 30, kT + 61000000)};
  ASSERT_TRUE(writer->Commit(b, kT).ok());
  b.records = {Reading(
      "a", 18, kT + 40000000)};  // late: lands in the first minute, not the last value there
  ASSERT_TRUE(writer->Commit(b, kT).ok());
  Result<QueryResult> r = writer->connection().Query(
      "SELECT count, min, max, sum, last_value FROM rollups_1m WHERE device_id = 'a' ORDER BY "
      "minute");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows(), 2u);
  EXPECT_EQ(r->Int64(0, 0), 3);
  EXPECT_EQ(r->Double(1, 0), 18);
  EXPECT_EQ(r->Double(2, 0), 22);
  EXPECT_EQ(r->Double(3, 0), 60);
  EXPECT_EQ(r->Double(4, 0), 18) << "18 at :40 is the minute's latest reading";
  EXPECT_EQ(r->Int64(0, 1), 1);
  r = writer->connection().Query(
      "SELECT kind, rack, epoch_us(first_seen), epoch_us(last_seen) FROM devices");
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(r->Text(0, 0), "sensor");
  EXPECT_EQ(r->Text(1, 0), "room-1-a01");
  EXPECT_EQ(r->Int64(2, 0), kT);
  EXPECT_EQ(r->Int64(3, 0), kT + 61000000);
}

// The writer derives devices from the batch in C++; they must be what SQL's arg_max over the stored
// rows gives: the newest event's value of each column, skipping absent ones, whatever the order.
TEST(Writer, DevicesAreTheNewestValuesOfTheBatchWhateverTheOrder) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  WriteBatch b;
  for (int i = 0; i < 3000; ++i) {
    const int j = (i * 1237) % 3000;  // shuffled by a fixed stride
    SensorReading r = Reading("d" + std::to_string(j % 5), j, kT + j * 1000000LL);
    r.placement.rack = "rack-" + std::to_string(j % 11);
    if (j % 7 == 0) r.unit.clear();  // absent: the newest unit given is kept
    r.measurement_type = j % 2 ? "temperature" : "humidity";
    b.records.push_back(r);
    if (j % 100 == 0)
      b.records.push_back(CoolingMetric{.system_id = "hvac" + std::to_string(j % 3),
                                        .efficiency_percent = 90,
                                        .power_consumption_watts = 1000,
                                        .timestamp_micros = kT + j * 1000000LL,
                                        .placement = {"dc1", "room-" + std::to_string(j), "", ""}});
  }
  ASSERT_TRUE(writer->Commit(b, kT).ok());
  auto& c = writer->connection();
  const char* diff = R"sql(
SELECT count(*) FROM (
  (SELECT * FROM devices
   EXCEPT
   (SELECT device_id, 'sensor', arg_max(measurement_type, event_time), arg_max(unit, event_time),
           arg_max(location, event_time), arg_max(site, event_time), arg_max(room, event_time),
           arg_max("row", event_time), arg_max(rack, event_time), arg_max(position, event_time),
           min(event_time), max(event_time)
    FROM sensor_readings GROUP BY device_id
    UNION ALL
    SELECT system_id, 'cooling', NULL, NULL, NULL, arg_max(site, event_time),
           arg_max(room, event_time), arg_max("row", event_time), arg_max(rack, event_time), NULL,
           min(event_time), max(event_time)
    FROM cooling_metrics GROUP BY system_id))))sql";
  Result<QueryResult> r = c.Query(diff);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Int64(0, 0), 0);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM devices")).Int64(0, 0), 8);
}

// MotherDuck's stand-in: the tables live in a second local file ATTACHed to the writer's database,
// the way an md: database is attached to a MotherDuck client, and the writer stages every batch
// in TEMP tables. (What this cannot show: that md: refuses appenders and accepts INSERT … SELECT.)
TEST(Writer, StagingMovesEachBatchIntoAnAttachedDatabaseInItsTransaction) {
  const std::string path = ::testing::TempDir() + "/standin.duckdb";
  std::filesystem::remove(path);
  auto client = Open();
  auto admin = *client->Connect();
  ASSERT_TRUE(admin->Execute("ATTACH " + SqlString(path) + " AS standin").ok());
  Result<std::unique_ptr<Writer>> staged =
      Writer::Create(*client, {.staging = true, .database = "standin"});
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  auto direct_db = Open();
  auto direct = *Writer::Create(*direct_db);

  WriteBatch batch;
  for (int i = 0; i < 5000; ++i)
    batch.records.push_back(Reading("d" + std::to_string(i % 7), i, kT + i * 1000000LL));
  batch.records.push_back(CoolingMetric{.system_id = "hvac",
                                        .efficiency_percent = 90,
                                        .power_consumption_watts = 1000,
                                        .timestamp_micros = kT});
  batch.rejects.push_back({"kafka", "dc.sensors/0@17", "bad", "{"});
  batch.offsets = {{"dc.sensors", 0, 5018}};
  for (Writer* w : {staged->get(), direct.get()}) ASSERT_TRUE(w->Commit(batch, kT).ok());

  auto count = [&](const std::string& sql) { return (*admin->Query(sql)).Int64(0, 0); };
  EXPECT_EQ(count("SELECT count(*) FROM standin.sensor_readings"), 5000);
  EXPECT_EQ(count("SELECT count(*) FROM standin.cooling_metrics"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM standin.rejects"), 1);
  EXPECT_EQ(count("SELECT next_offset FROM standin.ingest_offsets"), 5018);
  EXPECT_EQ(count("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory'"), 0)
      << "nothing written to the client's own database";
  EXPECT_EQ((*(*staged)->connection().Query(
                 "SELECT (SELECT count(*) FROM temp.main.dcmon_stage_sensor_readings) + "
                 "(SELECT count(*) FROM temp.main.dcmon_stage_rejects)"))
                .Int64(0, 0),
            0)
      << "the staging tables are emptied in the transaction";
  // Rollups and devices equal those of the direct path.
  const char* derived =
      "SELECT count(*)::VARCHAR || '/' || sum(count) || '/' || sum(sum) || '/' || sum(min) || "
      "'/' || sum(max) || '/' || sum(last_value) || '/' || (SELECT count(*) || string_agg(kind, "
      "'') FROM devices) FROM rollups_1m";
  EXPECT_EQ((*(*staged)->connection().Query(derived)).Text(0, 0),
            (*direct->connection().Query(derived)).Text(0, 0));

  // A batch that fails after its rows were staged and moved leaves nothing behind, staged or not.
  ASSERT_TRUE(admin->Execute("ALTER TABLE standin.rollups_1m RENAME TO rollups_away").ok());
  WriteBatch next;
  next.records = {Reading("d0", 1, kT), Reading("d1", 2, kT)};
  next.offsets = {{"dc.sensors", 0, 5020}};
  ASSERT_FALSE((*staged)->Commit(next, kT).ok());
  EXPECT_EQ(count("SELECT count(*) FROM standin.sensor_readings"), 5000);
  EXPECT_EQ(count("SELECT next_offset FROM standin.ingest_offsets"), 5018);
  ASSERT_TRUE(admin->Execute("ALTER TABLE standin.rollups_away RENAME TO rollups_1m").ok());
  Result<CommitStats> ok = (*staged)->Commit(next, kT);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->first_ingest_seq, 5002);
  EXPECT_EQ(count("SELECT count(*) FROM standin.sensor_readings"), 5002);

  // The stand-in is an ordinary file that holds everything by itself.
  staged->reset();
  admin.reset();
  client.reset();
  auto reopened = Open(path);
  EXPECT_EQ((*(*reopened->Connect())->Query("SELECT count(*) FROM sensor_readings")).Int64(0, 0),
            5002);
}

// Rollups are merged by the writer, not through a key index: after batches in any order each
// (device, measurement, minute) has one row that agrees with the raw rows.
TEST(Writer, RollupsEqualTheRawRowsAfterBatchesInAnyOrder) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  std::vector<Record> all;
  for (int i = 0; i < 6000; ++i) {
    // Three devices, readings every 7 s over ~2.3 h, shuffled by a fixed stride.
    const int j = (i * 2657) % 6000;
    all.push_back(Reading("d" + std::to_string(j % 3), j % 101, kT + (j / 3) * 7000000LL));
  }
  for (size_t first = 0; first < all.size(); first += 1000) {
    WriteBatch b;
    b.records.assign(all.begin() + first, all.begin() + first + 1000);
    ASSERT_TRUE(writer->Commit(b, kT).ok());
  }
  auto& c = writer->connection();
  const char* diff = R"sql(
SELECT count(*) FROM (
  SELECT device_id, measurement_type, minute, count, min, max, sum FROM rollups_1m
  EXCEPT ALL
  SELECT device_id, measurement_type, time_bucket(INTERVAL 1 MINUTE, event_time), count(*), min(value),
         max(value), sum(value) FROM sensor_readings GROUP BY ALL))sql";
  EXPECT_EQ((*c.Query(diff)).Int64(0, 0), 0);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM rollups_1m")).Int64(0, 0),
            (*c.Query("SELECT count(DISTINCT (device_id, time_bucket(INTERVAL 1 MINUTE, "
                      "event_time))) FROM sensor_readings"))
                .Int64(0, 0));
  EXPECT_EQ((*c.Query("SELECT count(*) FROM rollups_1m r WHERE last_value <> (SELECT "
                      "arg_max(value, event_time) FROM sensor_readings s WHERE s.device_id = "
                      "r.device_id AND time_bucket(INTERVAL 1 MINUTE, s.event_time) = r.minute)"))
                .Int64(0, 0),
            0);
}

// Schema version 3 rebuilds rollups_1m without its primary key and keeps its rows.
TEST(Store, MigrationThreeKeepsTheRollups) {
  auto db = Open();
  auto conn = *db->Connect();
  ASSERT_TRUE(Migrate(*conn).ok());
  // Back to what version 2 left: the keyed table with a row, no journal, nothing of later versions.
  ASSERT_TRUE(conn->Execute(R"sql(
DELETE FROM dcmon_schema WHERE version >= 3;
DROP TABLE anomalies;
DROP TABLE retention_exports;
DROP TABLE rollups_1m;
CREATE TABLE rollups_1m (device_id VARCHAR NOT NULL, measurement_type VARCHAR NOT NULL,
  minute TIMESTAMPTZ NOT NULL, count BIGINT NOT NULL, min DOUBLE NOT NULL, max DOUBLE NOT NULL,
  sum DOUBLE NOT NULL, last_value DOUBLE NOT NULL, last_time TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (device_id, measurement_type, minute));
INSERT INTO rollups_1m VALUES ('a', 'temperature', '2026-11-28 10:00:00+00', 2, 1, 3, 4, 3,
  '2026-11-28 10:00:30+00');
)sql")
                  .ok());
  Result<int> v = Migrate(*conn);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 2);
  EXPECT_EQ((*conn->Query("SELECT sum FROM rollups_1m WHERE device_id = 'a'")).Double(0, 0), 4);
  EXPECT_EQ((*conn->Query("SELECT count(*) FROM duckdb_constraints() WHERE table_name = "
                          "'rollups_1m' AND constraint_type = 'PRIMARY KEY'"))
                .Int64(0, 0),
            0);
}

TEST(Store, SqlStringQuotes) {
  EXPECT_EQ(SqlString("it's"), "'it''s'");
  EXPECT_EQ(SqlIdentifier("my \"db\""), "\"my \"\"db\"\"\"");
}

}  // namespace
}  // namespace dcmon::store
