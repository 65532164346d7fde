// Golden test of the paged record reads: every page of /api/airbyte/all, /api/v1/readings and
// /api/v1/cooling, byte for byte, against the envelope and AppendRecordJson of the records as they
// were committed, on random records with every optional field present or absent and values kept
// as sent (negative zero, exponents in unknown fields).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <random>

#include "api/api.h"
#include "core/record_json.h"
#include "store/writer.h"

namespace dcmon::api {
namespace {

constexpr int64_t kT0 = 1'732'000'000'000'000;

class RecordsRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
    writer_ = std::move(*store::Writer::Create(*db_));
    reads_ = std::move(*WorkerPool::Start(*db_, {.threads = 2}));
    tokens_.Add("reader", "read-token", kScopeRead);
    api_ = std::make_unique<Api>(
        ApiOptions{},
        ApiParts{.reads = reads_.get(), .live = &live_, .events = &events_, .tokens = &tokens_});
  }

  std::string Get(const std::string& target) {
    HttpRequest r;
    r.method = "GET";
    EXPECT_TRUE(ParseTarget(target, r.path, r.query));
    r.headers.emplace_back("authorization", "Bearer read-token");
    r.remote_address = "10.0.0.1";
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    api_->Handle(std::move(r), [&p](HttpResponse resp) { p.set_value(std::move(resp)); });
    HttpResponse resp = f.get();
    EXPECT_EQ(resp.status, 200) << target << ": " << resp.body;
    return resp.body;
  }

  // Pages every endpoint at several limits and compares each body with ExpectedPage.
  void ExpectPagesAre(const std::vector<Record>& records);

  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<WorkerPool> reads_;
  analytics::LiveState live_{{}};
  EventHub events_;
  TokenStore tokens_;
  std::unique_ptr<Api> api_;
};

// Random records, seeded; each optional field present about half the time.
std::vector<Record> RandomRecords(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto coin = [&rng] { return rng() % 2 == 0; };
  auto text = [&rng](std::string_view base) {
    // Short (inlined by DuckDB) and long strings, and ones that need escaping.
    static const char* kTails[] = {"", "-a", "-long-enough-to-leave-the-inline-buffer", "\"q\\\n"};
    return std::string(base) + kTails[rng() % 4];
  };
  auto number = [&rng](int i) {
    switch (rng() % 4) {
      case 0:
        return -0.0;
      case 1:
        return 1e-300 * i;
      default:
        return std::ldexp(static_cast<double>(rng() % 100000), -7) - 300;
    }
  };
  static const char* kExtras[] = {R"({"fw":"1.2","n":1E2})", R"({"z":-0,"y":-0.0,"e":1e-7})",
                                  R"({"a":[1,{"b":null}],"t":true})"};
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    const int64_t t = kT0 + i * int64_t{1'000'000} + static_cast<int64_t>(rng() % 1000);
    Placement p;
    if (coin()) p = {text("dc"), text("room"), coin() ? "r1" : "", coin() ? text("rack") : ""};
    if (coin()) {
      SensorReading s{.device_id = text("dev"),
                      .location = text("Room"),
                      .measurement_type = coin() ? "temperature" : "power",
                      .value = number(i),
                      .timestamp_micros = t};
      if (coin()) s.unit = text("unit");
      if (coin()) s.seq = static_cast<int64_t>(rng() % 1000000);
      s.placement = p;
      if (coin()) s.position = "inlet_top";
      if (coin()) s.extra = kExtras[rng() % 3];
      out.push_back(s);
    } else {
      CoolingMetric c{.system_id = text("crah"),
                      .efficiency_percent = static_cast<double>(rng() % 1001) / 10,
                      .power_consumption_watts = coin() ? -0.0 : 1000.5 + i,
                      .timestamp_micros = t};
      if (coin()) c.seq = static_cast<int64_t>(rng() % 1000000);
      c.placement = p;
      if (coin()) c.supply_air_temp_celsius = number(i);
      if (coin()) c.return_air_temp_celsius = number(i);
      if (coin()) c.fan_speed_percent = coin() ? -0.0 : 55.5;
      if (coin()) c.extra = kExtras[rng() % 3];
      out.push_back(c);
    }
  }
  return out;
}

// The page the API must answer: {"data":[{"ingest_seq":N,<record's fields>},...],"next_cursor":..,
// "limit":L}, with ingest_seq counting from 1 in commit order.
std::string ExpectedPage(const std::vector<std::pair<int64_t, const Record*>>& rows, size_t first,
                         int64_t limit) {
  std::string out = R"({"data":[)";
  const size_t end = std::min(rows.size(), first + static_cast<size_t>(limit));
  for (size_t i = first; i < end; ++i) {
    if (i > first) out += ',';
    out += R"({"ingest_seq":)" + std::to_string(rows[i].first) + ",";
    out += RecordToJson(*rows[i].second).substr(1);
  }
  out += R"(],"next_cursor":)";
  out += end - first == static_cast<size_t>(limit) ? std::to_string(rows[end - 1].first) : "null";
  out += R"(,"limit":)" + std::to_string(limit) + "}";
  return out;
}

// Commits `records` in batches of 1,100 (DuckDB's 2,048-row chunks span commits).
void Commit(store::Writer& writer, const std::vector<Record>& records) {
  store::WriteBatch batch;
  for (size_t i = 0; i < records.size(); ++i) {
    batch.records.push_back(records[i]);
    if (batch.records.size() == 1100 || i + 1 == records.size()) {
      ASSERT_TRUE(writer.Commit(batch, kT0).ok());
      batch.Clear();
    }
  }
}

void RecordsRoutesTest::ExpectPagesAre(const std::vector<Record>& records) {
  std::vector<std::pair<int64_t, const Record*>> all, sensors, cooling;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::pair<int64_t, const Record*> row{static_cast<int64_t>(i) + 1, &records[i]};
    all.push_back(row);
    (std::holds_alternative<SensorReading>(records[i]) ? sensors : cooling).push_back(row);
  }
  for (auto [path, rows] :
       {std::pair{"/api/airbyte/all", &all}, std::pair{"/api/v1/readings", &sensors},
        std::pair{"/api/v1/cooling", &cooling}}) {
    for (int64_t limit : {int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{10000}}) {
      SCOPED_TRACE(testing::Message() << path << " limit " << limit);
      size_t first = 0;
      int64_t cursor = 0;
      for (int pages = 0; first <= rows->size() && pages < 50; ++pages) {
        const std::string body = Get(fmt::format("{}?start={}&limit={}", path, cursor, limit));
        ASSERT_EQ(body, ExpectedPage(*rows, first, limit));
        if (first + static_cast<size_t>(limit) > rows->size()) break;
        first += static_cast<size_t>(limit);
        cursor = (*rows)[first - 1].first;
      }
    }
  }
}

uint64_t Seed() {
  const uint64_t seed = std::random_device{}();
  std::printf("records_routes_test seed: %llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

TEST_F(RecordsRoutesTest, PagesAreByteForByteTheRecordsAsCommitted) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  const std::vector<Record> records = RandomRecords(seed, 3000);
  Commit(*writer_, records);
  ExpectPagesAre(records);
}

// Pages are read in storage order and checked; rows stored out of ingest_seq order (by SQL here)
// are read again sorted, with the same answer.
TEST_F(RecordsRoutesTest, RowsStoredOutOfOrderReadTheSame) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  const std::vector<Record> records = RandomRecords(seed, 1500);
  Commit(*writer_, records);
  auto conn = *db_->Connect();
  for (const char* table : {"sensor_facts", "cooling_facts"}) {
    ASSERT_TRUE(
        conn->Execute(fmt::format("CREATE TEMP TABLE reversed AS SELECT * FROM {0} ORDER BY "
                                  "ingest_seq DESC; DELETE FROM {0}; INSERT INTO {0} "
                                  "SELECT * FROM reversed; DROP TABLE reversed",
                                  table))
            .ok());
  }
  ExpectPagesAre(records);
}

// A page's end is searched in a window sized from the density of ingest_seq past the cursor; where
// one table's records come in clusters (here: every cooling record after the sensors, then sensors
// again) the window must widen until it holds the page.
TEST_F(RecordsRoutesTest, ClusteredRecordsPageTheSame) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::vector<Record> records = RandomRecords(seed, 2000);
  std::stable_partition(records.begin(), records.begin() + 1500,
                        [](const Record& r) { return std::holds_alternative<SensorReading>(r); });
  Commit(*writer_, records);
  ExpectPagesAre(records);
}

// Pages are written from device fragments cached at the first read; devices (device keys) first
// stored after that page the same, with and without a device filter.
TEST_F(RecordsRoutesTest, DevicesStoredAfterAPageWasReadPageTheSame) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  const std::vector<Record> records = RandomRecords(seed, 2000);
  const std::vector<Record> first(records.begin(), records.begin() + 1000);
  Commit(*writer_, first);
  ExpectPagesAre(first);
  Commit(*writer_, {records.begin() + 1000, records.end()});
  ExpectPagesAre(records);
  // A device filter selects the device's keys in the page's own queries, new ones included.
  std::vector<std::pair<int64_t, const Record*>> rows;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto* s = std::get_if<SensorReading>(&records[i]);
    if (s && s->device_id == "dev-a") rows.emplace_back(static_cast<int64_t>(i) + 1, &records[i]);
  }
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(Get("/api/v1/readings?limit=10000&device=dev-a"), ExpectedPage(rows, 0, 10000));
}

}  // namespace
}  // namespace dcmon::api
