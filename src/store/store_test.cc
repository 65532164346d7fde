#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
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
  EXPECT_EQ(r->Text(0, 0), "15.2 MiB");  // 16MB
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
  // A file DuckDB cannot open: its path and DuckDB's own words, once each.
  const std::string dir = ::testing::TempDir() + "/a_directory.duckdb";
  std::filesystem::create_directories(dir);
  EXPECT_THAT(Database::Open({.path = dir}).status().message(),
              ::testing::StartsWith("duckdb open: " + dir + ": IO Error: "));
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

// A file's tables are stored in row groups of half a loader batch, under the catalog DuckDB would
// name the file by, in every connection and again after a reopen, read-only too.
TEST(Store, AFileIsAttachedWithHalfBatchRowGroups) {
  const std::string path = ::testing::TempDir() + "/row_groups.duckdb";
  std::filesystem::remove(path);
  {
    auto db = Open(path);
    auto conn = *db->Connect();
    ASSERT_TRUE(conn->Execute("CREATE TABLE t AS SELECT range AS i FROM range(150000)").ok());
  }
  auto db =
      Database::Open({.path = path, .memory_limit = "256MB", .threads = 1, .read_only = true});
  ASSERT_TRUE(db.ok()) << db.status().message();
  for (int i = 0; i < 2; ++i) {
    auto conn = *(*db)->Connect();
    EXPECT_EQ(*(*conn->Query("SELECT current_database()")).Text(0, 0), "row_groups");
    Result<QueryResult> r = conn->Query(
        "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('t') "
        "WHERE segment_type <> 'VALIDITY'");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->Int64(0, 0), 3);                                  // 61,440 + 61,440 + 27,120
    EXPECT_FALSE(conn->Execute("INSERT INTO t VALUES (1)").ok());  // read-only
  }
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

  // A batch that fails after its rows were appended (here: the rollup facts table is missing)
  // leaves nothing behind.
  auto& c = writer->connection();
  auto count = [&c] { return (*c.Query("SELECT count(*) FROM sensor_readings")).Int64(0, 0); };
  ASSERT_TRUE(c.Execute("ALTER TABLE rollup_facts RENAME TO rollups_away").ok());
  WriteBatch next;
  next.records = {Reading("d0", 1, kT), Reading("d1", 2, kT)};
  next.rejects = batch.rejects;
  next.offsets = {{"dc.sensors", 0, 5021}};
  Result<CommitStats> failed = writer->Commit(next, kT);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("rollup_facts"));
  EXPECT_EQ(count(), 5000);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM rejects")).Int64(0, 0), 1);
  EXPECT_EQ(*writer->Offsets(), (std::vector<StoredOffset>{{"dc.sensors", 0, 5018}}));
  // Once the cause is gone the same batch commits, with the ingest sequence where it was.
  ASSERT_TRUE(c.Execute("ALTER TABLE rollups_away RENAME TO rollup_facts").ok());
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
  ASSERT_TRUE(admin->Execute("ALTER TABLE standin.rollup_facts RENAME TO rollups_away").ok());
  WriteBatch next;
  next.records = {Reading("d0", 1, kT), Reading("d1", 2, kT)};
  next.offsets = {{"dc.sensors", 0, 5020}};
  ASSERT_FALSE((*staged)->Commit(next, kT).ok());
  EXPECT_EQ(count("SELECT count(*) FROM standin.sensor_readings"), 5000);
  EXPECT_EQ(count("SELECT next_offset FROM standin.ingest_offsets"), 5018);
  ASSERT_TRUE(admin->Execute("ALTER TABLE standin.rollups_away RENAME TO rollup_facts").ok());
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

// Each (device, measurement, minute) of rollups_1m has one row, which agrees with the raw rows.
void ExpectRollupsEqualTheRawRows(Connection& c) {
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
  ExpectRollupsEqualTheRawRows(writer->connection());
}

// A series' minute is merged only when that series may have it already: devices consumed at
// different paces (Kafka partitions) each straddle their own minute between batches, and after a
// restart the writer knows only the table's newest minute.
TEST(Writer, RollupsOfDevicesAtDifferentPacesAcrossBatchesAndARestart) {
  auto db = Open();
  const int64_t m = 60'000'000;
  auto batch = [&](std::initializer_list<std::tuple<const char*, int, int>> readings) {
    WriteBatch b;  // (device, first minute, last minute): a reading at :10 and :40 of each
    for (const auto& [device, first, last] : readings) {
      for (int i = first; i <= last; ++i) {
        b.records.push_back(Reading(device, i, kT + i * m + 10'000'000));
        b.records.push_back(Reading(device, i + 0.5, kT + i * m + 40'000'000));
      }
    }
    return b;
  };
  {
    auto writer = *Writer::Create(*db);
    ASSERT_TRUE(writer->Commit(batch({{"fast", 0, 9}, {"slow", 0, 1}}), kT).ok());
    // Each device's first minute here is its last of the batch before.
    ASSERT_TRUE(writer->Commit(batch({{"fast", 9, 12}, {"slow", 1, 5}}), kT).ok());
  }
  // A new writer: "slow" at minute 5 again, behind the table's newest (12); "new" behind it too.
  auto writer = *Writer::Create(*db);
  ASSERT_TRUE(writer->Commit(batch({{"slow", 5, 6}, {"new", 3, 4}, {"fast", 13, 13}}), kT).ok());
  ExpectRollupsEqualTheRawRows(writer->connection());
  EXPECT_EQ((*writer->connection().Query("SELECT count(*) FROM rollups_1m")).Int64(0, 0),
            14 + 7 + 2);
}

// Schema version 3 rebuilds rollups_1m without its primary key and keeps its rows.
TEST(Store, MigrationThreeKeepsTheRollups) {
  auto db = Open();
  auto conn = *db->Connect();
  // What version 2 left: the keyed table with a row, no journal.
  ASSERT_TRUE(Migrate(*conn, 2).ok());
  ASSERT_TRUE(conn->Execute(R"sql(
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

// The columns of a table or view, with their types, in order.
std::string Columns(Connection& c, const std::string& table) {
  Result<QueryResult> r = c.Query(
      "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) FROM "
      "duckdb_columns() WHERE table_name = " +
      SqlString(table));
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->Text(0, 0).value_or("") : "";
}

// Schema version 11 moves rollups_1m into rollup_facts keyed by rollup_series: the view of the same
// name has the table's columns and rows, and the writer merges into the migrated minutes and
// numbers new series after the migrated ones.
TEST(Store, MigrationElevenKeepsTheRollupsBehindTheirView) {
  auto db = Open();
  auto conn = *db->Connect();
  ASSERT_TRUE(Migrate(*conn, 10).ok());
  const std::string minute = "2025-08-21 16:48:00+00";  // kT's
  ASSERT_TRUE(conn->Execute(R"sql(
INSERT INTO rollups_1m VALUES
  ('d0', 'temperature', TIMESTAMPTZ ')sql" +
                            minute + R"sql(', 2, 1, 3, 4, 3, '2025-08-21 16:48:30+00'),
  ('d0', 'humidity', '2025-08-21 16:47:00+00', 1, 40, 40, 40, 40, '2025-08-21 16:47:10+00'),
  ('b', 'temperature', '2025-08-21 16:40:00+00', 1, 7, 7, 7, 7, '2025-08-21 16:40:10+00');
CREATE TABLE rollups_before AS SELECT * FROM rollups_1m;
)sql")
                  .ok());
  const std::string columns = Columns(*conn, "rollups_1m");
  Result<int> v = Migrate(*conn);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(Columns(*conn, "rollups_1m"), columns);
  auto count = [&](const std::string& sql) { return (*conn->Query(sql)).Int64(0, 0); };
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT * FROM rollups_1m EXCEPT ALL SELECT * FROM "
                  "rollups_before UNION ALL SELECT * FROM rollups_before EXCEPT ALL SELECT * "
                  "FROM rollups_1m)"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM rollup_series"), 3);

  auto writer = Writer::Create(*db);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  WriteBatch b;
  b.records = {Reading("d0", 5, kT + 50'000'000), Reading("new", 9, kT)};
  ASSERT_TRUE((*writer)->Commit(b, kT).ok());
  Result<QueryResult> r = conn->Query(
      "SELECT count, max, last_value FROM rollups_1m WHERE device_id = 'd0' AND "
      "measurement_type = 'temperature'");
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(r->Int64(0, 0), 3);
  EXPECT_EQ(r->Double(1, 0), 5);
  EXPECT_EQ(r->Double(2, 0), 5);
  EXPECT_EQ(count("SELECT series_key FROM rollup_series WHERE device_id = 'new'"), 4);
}

// Schema version 12 stores rollup_facts' minute as minutes since the epoch and last_time as
// microseconds into the minute: rollups_1m and the KPI views on it have the same columns, types
// and rows as before, and the writer merges into a migrated minute.
TEST(Store, MigrationTwelveKeepsTheRollupsTimesExact) {
  auto db = Open();
  auto conn = *db->Connect();
  ASSERT_TRUE(Migrate(*conn, 11).ok());
  ASSERT_TRUE(conn->Execute(R"sql(
INSERT INTO rollup_series VALUES (1, 'd0', 'temperature'), (2, 'meter', 'power'), (3, 'r1-inlet', 'temperature');
INSERT INTO devices VALUES
  ('r1-inlet', 'sensor', 'temperature', 'C', 'x', 's', 'room-1', 'a', 'a01', 'inlet-top', '2025-08-21 16:00:00+00', '2025-08-21 17:00:00+00');
INSERT INTO rollup_facts VALUES
  (1, '2025-08-21 16:48:00+00', 2, 1, 3, 4, 3, '2025-08-21 16:48:59.999999+00'),
  (1, '1970-01-01 00:00:00+00', 1, 5, 5, 5, 5, '1970-01-01 00:00:00+00'),
  (2, '2025-08-21 16:47:00+00', 1, 400, 400, 400, 400, '2025-08-21 16:47:10.000001+00'),
  (2, '2199-12-31 23:59:00+00', 3, 1, 2, 4.5, 1.5, '2199-12-31 23:59:30.5+00'),
  (3, '2025-08-21 16:40:00+00', 1, 22.5, 22.5, 22.5, 22.5, '2025-08-21 16:40:00+00');
CREATE TABLE rollups_before AS SELECT * FROM rollups_1m;
CREATE TABLE power_before AS SELECT * FROM kpi_power_1m;
CREATE TABLE racks_before AS SELECT * FROM kpi_rack_temps_1m;
)sql")
                  .ok());
  const std::vector<std::string> views = {"rollups_1m", "kpi_power_1m", "kpi_rack_temps_1m"};
  std::vector<std::string> columns;
  for (const std::string& v : views) columns.push_back(Columns(*conn, v));
  Result<int> v = Migrate(*conn);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 11);
  auto count = [&](const std::string& sql) {
    Result<QueryResult> r = conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->Int64(0, 0) : -1;
  };
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(Columns(*conn, views[i]), columns[i]);
    const std::string before = std::array{"rollups_before", "power_before", "racks_before"}[i];
    EXPECT_EQ(count(fmt::format("SELECT count(*) FROM (SELECT * FROM {0} EXCEPT ALL SELECT * FROM "
                                "{1} UNION ALL SELECT * FROM {1} EXCEPT ALL SELECT * FROM {0})",
                                views[i], before)),
              0)
        << views[i];
  }
  EXPECT_EQ(count("SELECT count(*) FROM rollups_1m"), 5);
  EXPECT_EQ(Columns(*conn, "rollup_facts"),
            "series_key INTEGER, minute INTEGER, count BIGINT, min DOUBLE, max DOUBLE, sum DOUBLE, "
            "last_value DOUBLE, last_offset INTEGER");
  EXPECT_EQ(count("SELECT last_offset FROM rollup_facts WHERE series_key = 1 AND minute > 0"),
            59'999'999);

  auto writer = Writer::Create(*db);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  WriteBatch b;
  b.records = {Reading("d0", 5, kT + 50'000'000)};
  ASSERT_TRUE((*writer)->Commit(b, kT).ok());
  Result<QueryResult> r = conn->Query(
      "SELECT count, max, last_value, epoch_us(last_time) FROM rollups_1m WHERE device_id = 'd0' "
      "AND minute = TIMESTAMPTZ '2025-08-21 16:48:00+00'");
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(r->Int64(0, 0), 3);
  EXPECT_EQ(r->Double(1, 0), 5);
  EXPECT_EQ(r->Double(2, 0), 3);  // 16:48:50 is before the stored last, 16:48:59.999999
  EXPECT_EQ(r->Int64(3, 0), kT + 59'999'999);
}

// RollupMinutes() keeps the minutes that start in [from, until), with bounds that reach the scan
// of rollup_facts as filters on its own column (DuckDB's zone maps skip the row groups out of
// range), not as an expression evaluated on every row.
TEST(Store, RollupMinutesBoundRollupFactsOwnColumn) {
  auto db = Open();
  auto conn = *db->Connect();
  ASSERT_TRUE(Migrate(*conn).ok());
  ASSERT_TRUE(conn->Execute("INSERT INTO rollup_series VALUES (1, 'd0', 'temperature'); INSERT "
                            "INTO rollup_facts SELECT 1, m, 1, 0, 0, 0, 0, 0 FROM "
                            "range(29262580, 29262584) t(m)")
                  .ok());
  constexpr int64_t kMinute = 60'000'000;
  const int64_t m0 = 29262580 * kMinute;  // kT's minute
  auto minutes = [&](int64_t from, int64_t until) {
    Result<QueryResult> r = conn->Query(
        fmt::format("SELECT string_agg(epoch_us(minute) // {} - 29262580, ',' ORDER BY minute) "
                    "FROM dcmon_rollups_1m WHERE {}",
                    kMinute, RollupMinutes(from, until)));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->Text(0, 0).value_or("") : "?";
  };
  EXPECT_EQ(minutes(m0, m0 + 4 * kMinute), "0,1,2,3");
  EXPECT_EQ(minutes(m0 + 1, m0 + 3 * kMinute), "1,2");
  EXPECT_EQ(minutes(m0 + kMinute, m0 + 3 * kMinute + 1), "1,2,3");
  EXPECT_EQ(minutes(INT64_MIN, m0 + 1), "0");
  EXPECT_EQ(minutes(m0 + 3 * kMinute, INT64_MAX), "3");
  EXPECT_EQ(minutes(m0 + 1, m0 + kMinute), "");
  for (const char* view : {"dcmon_rollups_1m", "dcmon_kpi_power_1m", "dcmon_kpi_rack_temps_1m"}) {
    Result<QueryResult> plan = conn->Query(fmt::format("EXPLAIN SELECT count(*) FROM {} WHERE {}",
                                                       view, RollupMinutes(m0, m0 + kMinute)));
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    EXPECT_THAT(*plan->Text(1, 0), HasSubstr("minute>=29262580 AND")) << view;
  }
}

// Every row of a table or view, every column as text (NULL included), in ingest order.
std::string Rows(Connection& c, const std::string& table) {
  Result<QueryResult> r = c.Query(
      "SELECT string_agg(CAST(t AS VARCHAR), '\n' ORDER BY ingest_seq) FROM " + table + " t");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->Text(0, 0).value_or("") : "";
}

// A file of schema version 3, filled as the version-3 writer filled it, opens at version 4 with
// every row in the facts and the views showing the same columns, types and values, byte for byte.
TEST(Store, MigrationFourKeepsEveryVersionThreeRow) {
  const std::string path = ::testing::TempDir() + "/v3.duckdb";
  std::filesystem::remove(path);
  std::string sensor_columns, cooling_columns, sensor_rows, cooling_rows;
  {
    auto db = Open(path);
    auto conn = *db->Connect();
    ASSERT_TRUE(Migrate(*conn, 3).ok());
    // As the version-3 writer appended them: absent optional fields NULL, the Kafka columns NULL
    // for records not from Kafka; device m moves from rack a01 to a02 and changes unit.
    ASSERT_TRUE(conn->Execute(R"sql(
INSERT INTO sensor_readings VALUES
  (1, 'm', 'Room 1', 'temperature', 21.5, '2026-11-30 10:00:00+00', 'celsius', 1, 'dc1', 'room-1',
   'a', 'room-1-a01', 'inlet_top', NULL, '2026-11-30 10:00:01+00', 'dc.sensors', 3, 17),
  (2, 'n', 'Room 1', 'humidity', 40, '2026-11-30 10:00:00+00', NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, '{"weight":1E2}', '2026-11-30 10:00:01+00', NULL, NULL, NULL),
  (4, 'm', 'Room 1', 'temperature', 71.1, '2026-11-30 10:01:00+00', 'fahrenheit', 2, 'dc1',
   'room-1', 'a', 'room-1-a02', 'inlet_top', NULL, '2026-11-30 10:01:01+00', 'dc.sensors', 3, 18),
  (5, 'm', 'Room 1', 'temperature', 21.7, '2026-11-30 10:00:30+00', 'celsius', 3, 'dc1', 'room-1',
   'a', 'room-1-a01', 'inlet_top', NULL, '2026-11-30 10:01:01+00', 'dc.sensors', 3, 19);
INSERT INTO cooling_metrics VALUES
  (3, 'hvac', 90, 1000, '2026-11-30 10:00:00+00', 7, 'dc1', 'room-1', NULL, NULL, 18.5, NULL, 55,
   NULL, '2026-11-30 10:00:01+00', 'dc.cooling', 0, 4);
)sql")
                    .ok());
    sensor_columns = Columns(*conn, "sensor_readings");
    cooling_columns = Columns(*conn, "cooling_metrics");
    sensor_rows = Rows(*conn, "sensor_readings");
    cooling_rows = Rows(*conn, "cooling_metrics");
  }
  ASSERT_THAT(sensor_rows, HasSubstr("room-1-a02"));
  auto db = Open(path);
  Result<std::unique_ptr<Writer>> writer = Writer::Create(*db);  // migrates at open
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  auto& c = (*writer)->connection();
  EXPECT_EQ((*c.Query("SELECT max(version) FROM dcmon_schema")).Int64(0, 0), kSchemaVersion);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM duckdb_views() WHERE view_name IN "
                      "('sensor_readings', 'cooling_metrics')"))
                .Int64(0, 0),
            2);
  EXPECT_EQ(Columns(c, "sensor_readings"), sensor_columns);
  EXPECT_EQ(Columns(c, "cooling_metrics"), cooling_columns);
  EXPECT_EQ(Rows(c, "sensor_readings"), sensor_rows);
  EXPECT_EQ(Rows(c, "cooling_metrics"), cooling_rows);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM device_keys")).Int64(0, 0), 4)
      << "m twice (moved), n, hvac";
  // The writer goes on from there: the sequence continues and a known tuple keeps its key.
  EXPECT_EQ((*writer)->last_ingest_seq(), 5);
  WriteBatch b;
  b.records = {SensorReading{.device_id = "n",
                             .location = "Room 1",
                             .measurement_type = "humidity",
                             .value = 41,
                             .timestamp_micros = *ParseRfc3339("2026-11-30T10:02:00Z")}};
  Result<CommitStats> stats = (*writer)->Commit(b, kT);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->first_ingest_seq, 6);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM device_keys")).Int64(0, 0), 4);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM sensor_readings WHERE device_id = 'n'")).Int64(0, 0),
            2);
}

// A device that moves or changes unit gets a new key; its earlier rows keep their placement. The
// keys are read back at open, and so is the newest rollup minute (a reading for a stored minute
// merges into its row instead of adding a second one).
TEST(Writer, ADeviceThatMovesKeepsItsOldRowsWhereTheyWere) {
  const std::string path = ::testing::TempDir() + "/moves.duckdb";
  std::filesystem::remove(path);
  {
    auto db = Open(path);
    auto writer = *Writer::Create(*db);
    WriteBatch b;
    b.records = {Reading("m", 20, kT), Reading("m", 21, kT + 10000000)};
    b.origins = {{"dc.sensors", 0, 0}, {"dc.sensors", 0, 1}};
    ASSERT_TRUE(writer->Commit(b, kT).ok());
    SensorReading moved = Reading("m", 70, kT + 20000000);
    moved.placement.rack = "room-1-a02";
    moved.unit = "fahrenheit";
    b.records = {moved};
    b.origins = {{"dc.sensors", 0, 2}};
    ASSERT_TRUE(writer->Commit(b, kT).ok());
  }
  auto db = Open(path);
  auto writer = *Writer::Create(*db);
  WriteBatch b;
  SensorReading again = Reading("m", 71, kT + 30000000);  // the same minute as all above
  again.placement.rack = "room-1-a02";
  again.unit = "fahrenheit";
  b.records = {again};
  b.origins = {{"dc.sensors", 0, 3}};
  ASSERT_TRUE(writer->Commit(b, kT).ok());
  auto& c = writer->connection();
  Result<QueryResult> r = c.Query(
      "SELECT string_agg(rack || ' ' || unit || ' ' || value, ', ' ORDER BY ingest_seq) FROM "
      "sensor_readings");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Text(0, 0),
            "room-1-a01 celsius 20.0, room-1-a01 celsius 21.0, room-1-a02 fahrenheit 70.0, "
            "room-1-a02 fahrenheit 71.0");
  EXPECT_EQ((*c.Query("SELECT count(*) FROM device_keys")).Int64(0, 0), 2);
  EXPECT_EQ((*c.Query("SELECT rack FROM devices")).Text(0, 0), "room-1-a02");
  r = c.Query("SELECT count(*), sum(count), max(max) FROM rollups_1m");
  EXPECT_EQ(r->Int64(0, 0), 1);
  EXPECT_EQ(r->Int64(1, 0), 4);
  EXPECT_EQ(r->Double(2, 0), 71);
}

// A batch that fails forgets the keys it added: the retried batch appends its new tuple again.
TEST(Writer, AFailedBatchForgetsTheDeviceKeysItAdded) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  WriteBatch b;
  b.records = {Reading("a", 1, kT)};
  ASSERT_TRUE(writer->Commit(b, kT).ok());
  auto& c = writer->connection();
  ASSERT_TRUE(c.Execute("ALTER TABLE devices RENAME TO devices_away").ok());
  b.records = {Reading("new", 2, kT + 1000000), Reading("a", 3, kT + 2000000)};
  ASSERT_FALSE(writer->Commit(b, kT).ok());
  ASSERT_TRUE(c.Execute("ALTER TABLE devices_away RENAME TO devices").ok());
  ASSERT_TRUE(writer->Commit(b, kT).ok());
  EXPECT_EQ((*c.Query("SELECT count(*) FROM sensor_readings")).Int64(0, 0), 3)
      << "every fact row finds its key";
  EXPECT_EQ((*c.Query("SELECT string_agg(device_key || device_id, ',' ORDER BY device_key) FROM "
                      "device_keys"))
                .Text(0, 0),
            "1a,2new");
}

// Schema version 7 numbers the metrics rows a version-3 file holds in the order they were stored
// (ingest time, then storage order), and the writer continues after them.
TEST(Store, MigrationSevenNumbersTheMetrics) {
  auto db = Open();
  auto conn = *db->Connect();
  ASSERT_TRUE(Migrate(*conn, 6).ok());
  ASSERT_TRUE(conn->Execute(R"sql(
INSERT INTO metrics VALUES
  ('2026-11-28 10:00:00+00', 'cpu', MAP {'host': 'b'}, 'idle', 1, NULL, '2026-11-28 10:00:02+00'),
  ('2026-11-28 10:00:00+00', 'cpu', MAP {'host': 'a'}, 'idle', 2, NULL, '2026-11-28 10:00:01+00'),
  ('2026-11-28 10:00:00+00', 'cpu', MAP {'host': 'a'}, 'user', 3, NULL, '2026-11-28 10:00:01+00');
)sql")
                  .ok());
  Result<int> v = Migrate(*conn);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 6);
  Result<QueryResult> r = conn->Query("SELECT ingest_seq, value FROM metrics ORDER BY ingest_seq");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r->Int64(0, i), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(r->Double(1, i), std::vector<double>({2, 3, 1})[i]);
  }
  auto writer = Writer::Create(*db);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  WriteBatch batch;
  Point p{.measurement = "cpu", .time_micros = 1'764'324'000'000'000};
  p.fields.push_back({.key = "idle", .type = Field::kFloat, .number = 4});
  p.fields.push_back({.key = "user", .type = Field::kFloat, .number = 5});
  batch.points.push_back(p);
  ASSERT_TRUE((*writer)->Commit(batch, 1'764'324'001'000'000).ok());
  EXPECT_EQ(
      (*conn->Query("SELECT max(ingest_seq), count(DISTINCT ingest_seq) FROM metrics")).Int64(0, 0),
      5);
}

// A file of schema version 8 opens at version 9 with `metrics` a view over the narrow facts: the
// same columns and types, every row the same text in ingest order (tags in their stored order,
// empty tags, string fields, a series and a field repeated), each series and field stored once, and
// the view streams in ingest order without ORDER BY.
TEST(Store, MigrationNineKeepsEveryVersionEightMetricsRow) {
  const std::string path = ::testing::TempDir() + "/v8.duckdb";
  std::filesystem::remove(path);
  std::string columns, rows;
  {
    auto db = Open(path);
    auto conn = *db->Connect();
    ASSERT_TRUE(Migrate(*conn, 8).ok());
    ASSERT_TRUE(conn->Execute(R"sql(
INSERT INTO metrics VALUES
  ('2026-11-28 10:00:00+00', 'cpu', MAP {'host': 'a', 'dc': 'eu'}, 'idle', 1.5, NULL, '2026-11-28 10:00:01+00', 1),
  ('2026-11-28 10:00:00+00', 'cpu', MAP {'host': 'a', 'dc': 'eu'}, 'user', 2, NULL, '2026-11-28 10:00:01+00', 2),
  ('2026-11-28 10:00:00+00', 'cpu', MAP {'dc': 'eu', 'host': 'a'}, 'idle', 3, NULL, '2026-11-28 10:00:01+00', 3),
  ('2026-11-28 10:00:00.000001+00', 'mem', MAP {}, 'state', NULL, 'ok, "really"', '2026-11-28 10:00:02+00', 4),
  ('2026-11-28 09:59:59+00', 'cpu', MAP {'host': 'b'}, 'idle', -0.0, NULL, '2026-11-28 10:00:02+00', 5),
  ('2026-11-28 10:00:01+00', 'cpu', MAP {'host': 'a', 'dc': 'eu'}, 'idle', 1e300, NULL, '2026-11-28 10:00:03+00', 6);
)sql")
                    .ok());
    columns = Columns(*conn, "metrics");
    rows = Rows(*conn, "metrics");
  }
  ASSERT_THAT(rows, HasSubstr("{dc=eu, host=a}"));
  auto db = Open(path);
  Result<std::unique_ptr<Writer>> writer = Writer::Create(*db);  // migrates at open
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  auto& c = (*writer)->connection();
  EXPECT_EQ(
      (*c.Query("SELECT count(*) FROM duckdb_views() WHERE view_name = 'metrics'")).Int64(0, 0), 1);
  EXPECT_EQ(Columns(c, "metrics"), columns);
  EXPECT_EQ(Rows(c, "metrics"), rows);
  EXPECT_EQ(*(*c.Query("SELECT string_agg(CAST(t AS VARCHAR), '\n') FROM metrics t")).Text(0, 0),
            rows)
      << "storage order is ingest order";
  EXPECT_EQ(*(*c.Query("SELECT string_agg(series_key || measurement || CAST(tags AS VARCHAR), ' ' "
                       "ORDER BY series_key) FROM metric_series"))
                 .Text(0, 0),
            "1cpu{host=a, dc=eu} 2cpu{dc=eu, host=a} 3mem{} 4cpu{host=b}");
  EXPECT_EQ(*(*c.Query("SELECT string_agg(field_key || field, ' ' ORDER BY field_key) FROM "
                       "metric_fields"))
                 .Text(0, 0),
            "1idle 2user 3state");

  WriteBatch batch;  // the writer continues the sequence and reuses the migrated keys
  batch.points.push_back(Point{.measurement = "cpu", .tags = {{"host", "b"}}, .time_micros = 7});
  batch.points.back().fields.push_back({.key = "user", .number = 8});
  ASSERT_TRUE((*writer)->Commit(batch, 9).ok());
  EXPECT_EQ(*(*c.Query("SELECT CAST(t AS VARCHAR) FROM metrics t WHERE ingest_seq = 7")).Text(0, 0),
            "{'time': '1970-01-01 00:00:00.000007+00', 'measurement': cpu, 'tags': {host=b}, "
            "'field': user, 'value': 8.0, 'text': NULL, 'ingest_time': '1970-01-01 "
            "00:00:00.000009+00', 'ingest_seq': 7}");
  EXPECT_EQ((*c.Query("SELECT count(*) FROM metric_series")).Int64(0, 0), 4);
  EXPECT_EQ((*c.Query("SELECT count(*) FROM metric_fields")).Int64(0, 0), 3);
}

// The writer interns each series (measurement and tags, in line order) and field once across
// batches, keys dense from 1; a batch that fails takes the keys it added with it.
TEST(Writer, MetricsInternSeriesAndFieldsOnceAcrossBatches) {
  auto db = Open();
  auto writer = *Writer::Create(*db);
  Connection& c = writer->connection();
  auto point = [](std::string m, std::vector<std::pair<std::string, std::string>> tags,
                  std::string field, double v) {
    Point p{.measurement = std::move(m), .tags = std::move(tags), .time_micros = 1000};
    p.fields.push_back({.key = std::move(field), .number = v});
    return p;
  };
  WriteBatch b;
  for (int i = 0; i < 3000; ++i)  // more than a data chunk: keys looked up for every row
    b.points.push_back(point("cpu", {{"host", fmt::format("h{}", i % 3)}}, i % 2 ? "a" : "b", i));
  ASSERT_TRUE(writer->Commit(b, 1).ok());
  b.points = {point("cpu", {{"host", "h1"}}, "a", 1), point("cpu", {{"host", "h9"}}, "c", 2),
              point("cpu", {{"host", "h0"}, {"dc", "x"}}, "a", 3),
              point("cpu", {{"dc", "x"}, {"host", "h0"}}, "a", 4)};
  ASSERT_TRUE(writer->Commit(b, 2).ok());
  auto text = [&](const std::string& sql) { return c.Query(sql)->Text(0, 0).value_or(""); };
  EXPECT_EQ(text("SELECT string_agg(series_key || CAST(tags AS VARCHAR), ' ' ORDER BY "
                 "series_key) FROM metric_series"),
            "1{host=h0} 2{host=h1} 3{host=h2} 4{host=h9} 5{host=h0, dc=x} 6{dc=x, host=h0}");
  EXPECT_EQ(text("SELECT string_agg(field_key || field, ' ' ORDER BY field_key) FROM "
                 "metric_fields"),
            "1b 2a 3c");
  EXPECT_EQ(c.Query("SELECT count(*) FROM metrics WHERE ingest_seq <= 3000 AND (tags['host'] <> "
                    "'h' || (value::BIGINT % 3) OR field <> CASE WHEN value::BIGINT % 2 = 1 THEN "
                    "'a' ELSE 'b' END OR ingest_seq <> value + 1)")
                ->Int64(0, 0),
            0);
  EXPECT_EQ(text("SELECT string_agg(CAST(tags AS VARCHAR) || field || value, ' ' ORDER BY "
                 "ingest_seq) FROM metrics WHERE ingest_seq > 3000"),
            "{host=h1}a1.0 {host=h9}c2.0 {host=h0, dc=x}a3.0 {dc=x, host=h0}a4.0");

  ASSERT_TRUE(c.Execute("ALTER TABLE metric_facts RENAME TO metric_facts_away").ok());
  b.points = {point("disk", {}, "free", 1)};
  ASSERT_FALSE(writer->Commit(b, 3).ok());
  ASSERT_TRUE(c.Execute("ALTER TABLE metric_facts_away RENAME TO metric_facts").ok());
  EXPECT_EQ(c.Query("SELECT count(*) FROM metric_series")->Int64(0, 0), 6);
  EXPECT_EQ(c.Query("SELECT count(*) FROM metric_fields")->Int64(0, 0), 3);
  ASSERT_TRUE(writer->Commit(b, 3).ok());
  EXPECT_EQ(text("SELECT measurement || series_key || field || ingest_seq FROM metrics JOIN "
                 "metric_series USING (measurement, tags) WHERE measurement = 'disk'"),
            "disk7free3005");
}

TEST(Store, SqlStringQuotes) {
  EXPECT_EQ(SqlString("it's"), "'it''s'");
  EXPECT_EQ(SqlIdentifier("my \"db\""), "\"my \"\"db\"\"\"");
}

}  // namespace
}  // namespace dcmon::store
