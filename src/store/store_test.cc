#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "store/duckdb.h"
#include "store/schema.h"

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

TEST(Store, SqlStringQuotes) { EXPECT_EQ(SqlString("it's"), "'it''s'"); }

}  // namespace
}  // namespace dcmon::store
