// Tests of store::HourlyRollups: rollups_1h against SQL's aggregation of the readings (the open
// hour through HourlyRollupsSql), late readings, when runs are due, and the migration of a
// version-9 file.
#include "store/rollups_hourly.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "store/schema.h"
#include "store/writer.h"

namespace dcmon::store {
namespace {

constexpr int64_t kHour = 3'600'000'000LL;
constexpr int64_t kT0 = 1795651200LL * 1'000'000;  // 2026-11-26T00:00:00Z

int64_t Count(Connection& c, const std::string& sql) {
  Result<QueryResult> r = c.Query(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().message();
  return r.ok() ? r->Int64(0, 0) : -1;
}

// Rows of `hourly` (rollups_1h's columns) that differ from SQL's aggregation of the readings per
// device and hour, plus the hours one side has and the other lacks; only hours before `until`.
int64_t Mismatches(Connection& c, const std::string& hourly, int64_t until) {
  return Count(c, fmt::format(R"sql(
WITH expected AS (
  SELECT device_id, measurement_type, time_bucket(INTERVAL 1 HOUR, event_time) AS hour,
         count(*) AS count, min(value) AS min, max(value) AS max, avg(value) AS avg,
         arg_max(value, event_time) AS last_value
  FROM sensor_readings WHERE event_time < {1} GROUP BY ALL),
got AS (SELECT * FROM {0} h WHERE hour < {1})
SELECT count(*) FROM expected e FULL JOIN got g USING (device_id, measurement_type, hour)
WHERE g.count IS DISTINCT FROM e.count OR g.min IS DISTINCT FROM e.min
   OR g.max IS DISTINCT FROM e.max OR g.last_value IS DISTINCT FROM e.last_value
   OR abs(g.sum / g.count - e.avg) > 1e-9 OR g.count IS NULL
)sql",
                              hourly, SqlTimestamp(until)));
}

class HourlyRollupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1}));
    writer_ = std::move(*Writer::Create(*db_));
  }
  Connection& c() { return writer_->connection(); }
  // Readings of three devices from `from` for `minutes`, 1 to 6 a minute at random times, so that
  // the minutes' counts differ (an unweighted mean of their means would be off).
  void Write(int64_t from, int minutes) {
    WriteBatch b;
    for (int m = 0; m < minutes; ++m) {
      for (int d = 0; d < 3; ++d) {
        const int n = std::uniform_int_distribution<int>(1, 6)(rng_);
        for (int i = 0; i < n; ++i) {
          const int64_t t =
              from + m * 60'000'000LL + std::uniform_int_distribution<int64_t>(0, 59'999'999)(rng_);
          b.records.push_back(
              SensorReading{.device_id = "d" + std::to_string(d),
                            .location = "Room 1",
                            .measurement_type = "temperature",
                            .value = std::uniform_real_distribution<double>(15, 35)(rng_),
                            .timestamp_micros = t});
        }
      }
    }
    ASSERT_TRUE(writer_->Commit(b, from + minutes * 60'000'000LL).ok());
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<Writer> writer_;
  const unsigned seed_ = std::random_device{}();
  std::mt19937_64 rng_{seed_};
};

TEST_F(HourlyRollupsTest, ClosedHoursEqualTheAggregateAndTheOpenHourIsRead) {
  SCOPED_TRACE(fmt::format("seed {}", seed_));
  Write(kT0, 3 * 60 + 25);  // three closed hours and 25 minutes of the fourth
  HourlyRollups hourly({});
  Result<int64_t> rows = hourly.Run(c());
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, 9) << "3 devices x 3 closed hours";
  EXPECT_EQ(*HourlyRollupsCoveredUntil(c()), kT0 + 3 * kHour);
  EXPECT_EQ(Count(c(),
                  "SELECT count(*) FROM rollups_1h WHERE hour >= TIMESTAMPTZ "
                  "'2026-11-26 03:00:00+00'"),
            0)
      << "the open hour is not rolled up";
  EXPECT_EQ(Mismatches(c(), "rollups_1h", kT0 + 3 * kHour), 0);
  // Through HourlyRollupsSql the open hour comes from rollups_1m, equal to the readings too.
  const std::string all =
      HourlyRollupsSql(*HourlyRollupsCoveredUntil(c()), "TRUE", kT0 - kHour, kT0 + 5 * kHour);
  EXPECT_EQ(Mismatches(c(), all, kT0 + 5 * kHour), 0);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM " + all + " h"), 12);
  // Nothing new closed: nothing written.
  EXPECT_EQ(*hourly.Run(c()), 0);
}

TEST_F(HourlyRollupsTest, LateReadingsAreRolledUpHoweverOldTheirHour) {
  SCOPED_TRACE(fmt::format("seed {}", seed_));
  Write(kT0, 3 * 60 + 10);
  HourlyRollups hourly({});
  ASSERT_EQ(*hourly.Run(c()), 9);
  // A late minute in hour 0, three hours old, and nothing newer: hour 0 alone is rolled up again.
  Write(kT0 + 30 * 60'000'000LL, 1);
  Result<int64_t> rows = hourly.Run(c());
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, 3) << "hour 0 of the three devices";
  EXPECT_EQ(Mismatches(c(), "rollups_1h", kT0 + 3 * kHour), 0);
  EXPECT_EQ(*hourly.Run(c()), 0) << "nothing stored since";
}

TEST_F(HourlyRollupsTest, RunsWhenTheIntervalHasPassed) {
  Write(kT0, 70);
  HourlyRollups hourly({.interval = std::chrono::seconds(60)});
  EXPECT_EQ(*hourly.RunDue(c(), kT0), 3);
  Write(kT0 + 70 * 60'000'000LL, 60);
  EXPECT_EQ(*hourly.RunDue(c(), kT0 + 59'000'000), 0) << "not due";
  EXPECT_EQ(*hourly.RunDue(c(), kT0 + 60'000'000), 3) << "hour 1 closed";
  EXPECT_EQ(Mismatches(c(), "rollups_1h", kT0 + 2 * kHour), 0);
}

TEST(HourlyRollupOptions, Validates) {
  EXPECT_TRUE(HourlyRollupOptions{}.Validate().ok());
  EXPECT_FALSE(HourlyRollupOptions{.interval = std::chrono::seconds(0)}.Validate().ok());
}

// A version-9 file with minute rollups opens at the current version with an empty rollups_1h, which the
// first run fills from all of rollups_1m.
TEST(HourlyRollupsMigration, VersionNineFileGetsItsHoursRolledUp) {
  const std::string path = ::testing::TempDir() + "/v9-hourly.duckdb";
  std::filesystem::remove(path);
  {
    auto db = *Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
    auto conn = *db->Connect();
    ASSERT_TRUE(Migrate(*conn, 9).ok());
    ASSERT_TRUE(conn->Execute(R"sql(
INSERT INTO rollups_1m VALUES
  ('a', 'temperature', '2026-11-28 10:00:00+00', 2, 1, 3, 4, 3, '2026-11-28 10:00:30+00'),
  ('a', 'temperature', '2026-11-28 10:59:00+00', 1, 5, 5, 5, 5, '2026-11-28 10:59:10+00'),
  ('a', 'temperature', '2026-11-28 11:00:00+00', 1, 7, 7, 7, 7, '2026-11-28 11:00:10+00');
)sql")
                    .ok());
    EXPECT_EQ(Count(*conn, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollups_1h'"),
              0);
  }
  auto db = *Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
  Result<std::unique_ptr<Writer>> writer = Writer::Create(*db);  // migrates at open
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  Connection& c = (*writer)->connection();
  EXPECT_EQ(Count(c, "SELECT max(version) FROM dcmon_schema"), kSchemaVersion);
  EXPECT_EQ(Count(c, "SELECT count(*) FROM rollups_1h"), 0);
  EXPECT_EQ(Count(c, "SELECT count(*) FROM rollups_1h_state"), 0);
  HourlyRollups hourly({});
  EXPECT_EQ(*hourly.Run(c), 1) << "10:00 closed, 11:00 open";
  Result<QueryResult> r = c.Query(
      "SELECT count, min, max, sum / count, last_value, epoch_us(last_time) FROM rollups_1h");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Int64(0, 0), 3);
  EXPECT_EQ(r->Double(1, 0), 1);
  EXPECT_EQ(r->Double(2, 0), 5);
  EXPECT_DOUBLE_EQ(r->Double(3, 0), 3);  // (4 + 5) / 3, not the minutes' means (2 + 5) / 2
  EXPECT_EQ(r->Double(4, 0), 5);
}

}  // namespace
}  // namespace dcmon::store
