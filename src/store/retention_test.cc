// Tests of store::Retention: Parquet export by UTC day, deletion after the export, recovery of an
// interrupted run, and when runs are due.
#include "store/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/writer.h"

namespace dcmon::store {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDay = 86'400'000'000LL;
constexpr int64_t kD1 = 1795651200LL * 1'000'000;  // 2026-11-26T00:00:00Z
constexpr int64_t kHour = 3'600'000'000LL;

SensorReading Reading(const std::string& device, double value, int64_t t) {
  return SensorReading{.device_id = device,
                       .location = "Room 1",
                       .measurement_type = "temperature",
                       .value = value,
                       .timestamp_micros = t};
}

int64_t Count(Connection& c, const std::string& sql) {
  Result<QueryResult> r = c.Query(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().message();
  return r.ok() ? r->Int64(0, 0) : -1;
}

double Sum(Connection& c, const std::string& sql) {
  Result<QueryResult> r = c.Query(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().message();
  return r.ok() ? r->Double(0, 0) : -1;
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/retention-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    db_ = std::move(*Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1}));
    writer_ = std::move(*Writer::Create(*db_));
    // Three UTC days of data, 26, 27 and 28 November: 24 readings and 1 cooling metric an hour,
    // one reject received each day, two metrics points each day.
    for (int day = 0; day < 3; ++day) {
      WriteBatch b;
      for (int h = 0; h < 24; ++h) {
        const int64_t t = kD1 + day * kDay + h * kHour;
        for (int d = 0; d < 24; ++d)
          b.records.push_back(Reading("d" + std::to_string(d), h + d, t));
        b.records.push_back(CoolingMetric{.system_id = "hvac",
                                          .efficiency_percent = 90,
                                          .power_consumption_watts = 1000.0 + h,
                                          .timestamp_micros = t});
      }
      b.rejects.push_back({"kafka", "dc.sensors/0@1", "bad", "x"});
      for (int p = 0; p < 2; ++p) {
        Point& point = b.points.emplace_back(Point{.measurement = "cpu",
                                                   .tags = {{"host", "a"}},
                                                   .time_micros = kD1 + day * kDay + p * kHour});
        point.fields.push_back({.key = "usage", .number = double(p)});
      }
      ASSERT_TRUE(writer_->Commit(b, kD1 + day * kDay + 23 * kHour).ok());
    }
  }
  Connection& c() { return writer_->connection(); }
  std::string Glob(const std::string& table) { return dir_ + "/" + table + "/*/*.parquet"; }

  std::string dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Writer> writer_;
};

TEST_F(RetentionTest, ExportsExpiredDaysToParquetThenDeletesThem) {
  const double sum_before = Sum(c(), "SELECT sum(value) FROM sensor_readings");
  const int64_t rollups_before = Count(c(), "SELECT count(*) FROM rollups_1m");
  Retention retention({.retention_days = 1, .export_dir = dir_});
  // 29 November 00:30: the cutoff is 28 November 00:00, so the 26th and the 27th expire.
  Result<RetentionStats> r = retention.RunDue(c(), kD1 + 3 * kDay + kHour / 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->files, 8);  // 4 tables x 2 days
  EXPECT_EQ(r->exported_rows, 2 * (24 * 25 + 1 + 2));
  EXPECT_EQ(r->deleted_rows, r->exported_rows);

  // The tables keep the 28th only.
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings"), 24 * 24);
  EXPECT_EQ(Count(c(),
                  "SELECT count(*) FROM sensor_readings WHERE event_time < "
                  "TIMESTAMPTZ '2026-11-28 00:00:00+00'"),
            0);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM cooling_metrics"), 24);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM rejects"), 1);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM metrics"), 2);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM rollups_1m"), rollups_before);

  // The files hold the rest, value for value, one partition directory per day.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/sensor_readings/day=2026-11-26/part-1.parquet"));
  const std::string sensors =
      fmt::format("read_parquet('{}', hive_partitioning = true)", Glob("sensor_readings"));
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM " + sensors +
                           " WHERE day = DATE '2026-11-26' AND "
                           "CAST(event_time AS DATE) = day"),
            24 * 24);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM " + sensors + " WHERE day = DATE '2026-11-27'"),
            24 * 24);
  EXPECT_DOUBLE_EQ(Sum(c(), "SELECT sum(value) FROM " + sensors) +
                       Sum(c(), "SELECT sum(value) FROM sensor_readings"),
                   sum_before);
  EXPECT_EQ(Count(c(), "SELECT count(DISTINCT ingest_seq) FROM " + sensors), 2 * 24 * 24);
  EXPECT_EQ(Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}') WHERE "
                                   "power_consumption_watts = 1023",
                                   Glob("cooling_metrics"))),
            2);
  EXPECT_EQ(Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}') WHERE payload = "
                                   "'x'::BLOB",
                                   Glob("rejects"))),
            2);
  EXPECT_EQ(Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}') WHERE tags['host'] "
                                   "= 'a'",
                                   Glob("metrics"))),
            4);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM retention_exports WHERE rows IS NOT NULL"), 8);
}

TEST_F(RetentionTest, RunsOncePerUtcDay) {
  Retention retention({.retention_days = 1, .export_dir = dir_});
  ASSERT_TRUE(retention.RunDue(c(), kD1 + 3 * kDay).ok());
  // A late reading for the 26th arrives: not due again before midnight, then exported beside the
  // first file.
  WriteBatch late;
  late.records = {Reading("late", 7, kD1 + kHour)};
  ASSERT_TRUE(writer_->Commit(late, kD1 + 3 * kDay).ok());
  EXPECT_EQ(retention.RunDue(c(), kD1 + 4 * kDay - 1)->deleted_rows, 0);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings WHERE device_id = 'late'"), 1);
  Result<RetentionStats> r = retention.RunDue(c(), kD1 + 4 * kDay);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings WHERE device_id = 'late'"), 0);
  EXPECT_EQ(Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}') WHERE device_id = "
                                   "'late'",
                                   Glob("sensor_readings"))),
            1);
  EXPECT_EQ(Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}')",
                                   dir_ + "/sensor_readings/day=2026-11-26/*.parquet")),
            24 * 24 + 1);
}

TEST_F(RetentionTest, FinishesAnInterruptedExportWithoutDuplicates) {
  // A run that died after journalling and half-writing a file for the 26th, before deleting.
  const std::string partial = dir_ + "/sensor_readings/day=2026-11-26/part-7.parquet";
  std::filesystem::create_directories(std::filesystem::path(partial).parent_path());
  std::ofstream(partial) << "PAR1 half a file";
  ASSERT_TRUE(c().Execute("INSERT INTO retention_exports VALUES (7, 'sensor_readings', DATE "
                          "'2026-11-26', " +
                          SqlString(partial) + ", NULL, now(), NULL)")
                  .ok());
  Retention retention({.retention_days = 2, .export_dir = dir_});
  Result<RetentionStats> r = retention.Run(c(), kD1 + 3 * kDay);  // cutoff: the 27th
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(partial));
  EXPECT_EQ(
      Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}')", Glob("sensor_readings"))),
      24 * 24);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings"), 2 * 24 * 24);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM retention_exports"), 4);
  // Running again changes nothing.
  EXPECT_EQ(retention.Run(c(), kD1 + 3 * kDay)->deleted_rows, 0);
  EXPECT_EQ(
      Count(c(), fmt::format("SELECT count(*) FROM read_parquet('{}')", Glob("sensor_readings"))),
      24 * 24);
}

TEST_F(RetentionTest, WithoutAnExportDirectoryDeletesOnly) {
  Retention retention({.retention_days = 1});
  Result<RetentionStats> r = retention.Run(c(), kD1 + 3 * kDay);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->files, 0);
  EXPECT_EQ(r->deleted_rows, 2 * (24 * 25 + 1 + 2));
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings"), 24 * 24);
  EXPECT_FALSE(std::filesystem::exists(dir_));
}

TEST_F(RetentionTest, ZeroDaysKeepsEverything) {
  Retention retention({});
  EXPECT_EQ(retention.RunDue(c(), kD1 + 30 * kDay)->deleted_rows, 0);
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings"), 3 * 24 * 24);
}

TEST_F(RetentionTest, AFailedExportKeepsTheRowsAndRetriesLater) {
  // The export directory is a file: nothing can be written below it.
  std::ofstream(dir_) << "in the way";
  Retention retention({.retention_days = 1, .export_dir = dir_});
  Result<RetentionStats> r = retention.RunDue(c(), kD1 + 3 * kDay);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("retention of sensor_readings"));
  EXPECT_EQ(Count(c(), "SELECT count(*) FROM sensor_readings"), 3 * 24 * 24);
  std::filesystem::remove(dir_);
  EXPECT_EQ(retention.RunDue(c(), kD1 + 3 * kDay + 59'000'000)->files, 0) << "retry_after: 60 s";
  EXPECT_EQ(retention.RunDue(c(), kD1 + 3 * kDay + 60'000'000)->files, 8);
}

TEST(RetentionOptions, ReadFromConfig) {
  Config config;
  config.SetFlag("store.retention_days", "30");
  config.SetFlag("store.export_dir", "data/archive");
  Result<RetentionOptions> o = RetentionOptionsFrom(config);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->retention_days, 30);
  EXPECT_EQ(o->export_dir, "data/archive");
  config.SetFlag("store.retention_days", "30d");
  EXPECT_THAT(RetentionOptionsFrom(config).status().message(),
              HasSubstr("store.retention_days: expected an integer from 0 to 100000, got \"30d\""));
  config.SetFlag("store.retention_days", "-1");
  EXPECT_FALSE(RetentionOptionsFrom(config).ok());
}

}  // namespace
}  // namespace dcmon::store
