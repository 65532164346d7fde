#include "store/anomalies.h"

#include <gtest/gtest.h>

#include "core/json_writer.h"

namespace dcmon::store {
namespace {

constexpr int64_t kT0 = 1'753'000'000'000'000;

detect::Anomaly A(std::string device, double score, int64_t t) {
  return {.device = std::move(device),
          .timestamp_micros = t,
          .value = 21.5,
          .score = score,
          .detector = detect::DetectorKind::kDrift,
          .category = detect::Category::kSensor,
          .explanation = "drifted \"far\""};
}

TEST(Anomalies, AppendNumbersAndPagesWithFilters) {
  auto db = *Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1});
  auto store = AnomalyStore::Open(*db);
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::vector<detect::Anomaly> batch = {A("s1", 0.95, kT0), A("s2", 1, kT0 + 1),
                                        A("s1", 1, kT0 + 2)};
  auto rows = (*store)->Append(batch, kT0 + 10);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[2].anomaly_seq, 3);
  EXPECT_EQ((*rows)[0].detector, "drift");
  EXPECT_EQ((*rows)[0].kind, "sensor");

  auto conn = *db->Connect();
  auto page = ReadAnomalies(*conn, {.after = 1, .limit = 10});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].device_id, "s2");
  EXPECT_EQ((*page)[0].event_micros, kT0 + 1);
  EXPECT_EQ((*page)[0].ingest_micros, kT0 + 10);
  EXPECT_EQ(ReadAnomalies(*conn, {.limit = 10, .device_id = "s1"})->size(), 2u);
  EXPECT_EQ(ReadAnomalies(*conn, {.limit = 10, .min_score = 0.99})->size(), 2u);
  EXPECT_EQ(ReadAnomalies(*conn, {.limit = 1})->size(), 1u);

  // A second store on the same database continues the numbering.
  auto again = AnomalyStore::Open(*db);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*(*again)->Append(batch, kT0))[0].anomaly_seq, 4);

  std::string json;
  {
    JsonWriter w(json);
    WriteAnomalyJson(w, (*page)[0]);
  }
  EXPECT_EQ(json,
            R"({"anomaly_seq":2,"device_id":"s2","event_time":"2025-07-20T08:26:40.000001Z",)"
            R"("value":21.5,"score":1,"detector":"drift","kind":"sensor",)"
            R"("explanation":"drifted \"far\"","ingest_time":"2025-07-20T08:26:40.000010Z"})");
}

}  // namespace
}  // namespace dcmon::store
