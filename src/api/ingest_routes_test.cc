// HTTP ingest end to end on an embedded broker: the routes, ingest::HttpIngest, the producer and
// the loader that stores what HTTP sent (records, rejects, line-protocol points).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "api/api.h"
#include "bus/embedded_broker.h"
#include "ingest/loader.h"
#include "store/points.h"
#include "store/writer.h"

#if defined(__SANITIZE_ADDRESS__)
// A record's delivery report that reaches a tracker on a returned stack frame is the defect the
// outage test guards against; ASan sees it only with fake stack frames.
extern "C" const char* __asan_default_options() { return "detect_stack_use_after_return=1"; }
#endif

namespace dcmon::api {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Sensor(std::string_view device, int second, std::string_view extra = "") {
  return fmt::format(
      R"({{"source_type":"sensor","device_id":"{}","location":"Room 1","measurement_type":"temperature","value":21.5,"timestamp":"2025-08-21T16:00:{:02d}Z"{}}})",
      device, second, extra);
}

class IngestRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::move(
        *bus::EmbeddedBroker::Start({.partitions = 2,
                                     .topics = {kafka_.sensors_topic, kafka_.cooling_topic,
                                                kafka_.rejects_topic, kafka_.metrics_topic}}));
    kafka_.bootstrap = broker_->bootstrap();
    db_ = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
    producer_ = std::move(*bus::Producer::Create(kafka_));
    ingest_ = std::make_unique<ingest::HttpIngest>(*producer_, kafka_);
    writes_ = std::move(*WorkerPool::Start(*db_, {.threads = 2}));
    tokens_.Add("admin", "admin-token", kScopeAll);
    api_ = std::make_unique<Api>(ApiOptions{}, ApiParts{.writes = writes_.get(),
                                                        .ingest = ingest_.get(),
                                                        .live = &live_,
                                                        .events = &events_,
                                                        .tokens = &tokens_});
  }

  HttpResponse Post(std::string path, std::string body) {
    HttpRequest r;
    r.method = "POST";
    EXPECT_TRUE(ParseTarget(path, r.path, r.query));
    r.headers.emplace_back("authorization", "Bearer admin-token");
    r.remote_address = "10.0.0.1";
    r.body = std::move(body);
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    api_->Handle(std::move(r), [&p](HttpResponse x) { p.set_value(std::move(x)); });
    return f.get();
  }

  int64_t Count(std::string_view sql) {
    auto conn = *db_->Connect();
    Result<store::QueryResult> r = conn->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->Int64(0, 0) : -1;
  }

  bus::KafkaConfig kafka_;
  std::unique_ptr<bus::EmbeddedBroker> broker_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<ingest::HttpIngest> ingest_;
  std::unique_ptr<WorkerPool> writes_;
  analytics::LiveState live_{{}};
  EventHub events_;
  TokenStore tokens_;
  std::unique_ptr<Api> api_;
};

// The outage the 503 is for: the broker answers only after the request's deadline (10 s by
// default). The request is answered 503 with Retry-After, the late acknowledgements arrive once
// the broker is back and are counted, and the server goes on serving (under ASan: with no report,
// although librdkafka held the request's tracker for every late record).
TEST_F(IngestRoutesTest, BrokerSlowerThanTheDeadlineGets503AndLateDeliveriesAreCounted) {
  ASSERT_EQ(Post("/api/v1/ingest", Sensor("warm-up", 0)).status, 200);
  std::string body;
  constexpr int kRecords = 200;
  for (int i = 0; i < kRecords; ++i) body += Sensor(fmt::format("dev-{}", i), i % 60) + "\n";
  // Every response of the broker now takes longer than a request waits.
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(broker_->cluster(), 1, 13000), RD_KAFKA_RESP_ERR_NO_ERROR);
  const HttpResponse slow = Post("/api/v1/ingest", body);
  EXPECT_EQ(slow.status, 503);
  EXPECT_THAT(slow.headers, Contains(Pair("Retry-After", ::testing::_)));
  EXPECT_THAT(slow.body, HasSubstr("not acknowledged within"));
  EXPECT_EQ(producer_->counters().late.load(), 0);
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(broker_->cluster(), 1, 0), RD_KAFKA_RESP_ERR_NO_ERROR);

  // Back: a new request is taken, and the abandoned records' reports are served (and counted)
  // on the way.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline &&
         (status != 200 || producer_->counters().late.load() < kRecords)) {
    status = Post("/api/v1/ingest", Sensor("after", 1)).status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(producer_->counters().late.load(), kRecords);
  EXPECT_EQ(producer_->counters().failed.load(), 0);
}

// Records, rejects and points all reach the store through Kafka and the loader: nothing is written
// by the API itself.
TEST_F(IngestRoutesTest, RecordsRejectsAndPointsAreStoredByTheLoader) {
  const HttpResponse ndjson = Post(
      "/api/v1/ingest", Sensor("a", 1) + "\n\n" + Sensor("a", 2) + "\r\n{\"source_type\":1}\n");
  EXPECT_EQ(ndjson.status, 200);
  EXPECT_THAT(ndjson.body, HasSubstr(R"("accepted":2,"rejected_count":1)"));
  EXPECT_THAT(ndjson.body, HasSubstr(R"("line":4)"));
  // An array element is produced as its minified text: an unknown field keeps its spelling.
  const HttpResponse array =
      Post("/api/v1/ingest", "[ " + Sensor("b", 3, R"(, "weight" : 1E2 )") + " ,\n 5 ]");
  EXPECT_EQ(array.status, 200);
  EXPECT_THAT(array.body, HasSubstr(R"("accepted":1,"rejected_count":1)"));
  EXPECT_EQ(Post("/api/v1/ingest", "[" + Sensor("c", 4)).status, 400);
  EXPECT_EQ(Post("/api/v1/ingest", "[1] 2").status, 400);
  EXPECT_EQ(Post("/write?precision=s",
                 "cpu,host=h1 value=1,text=\"x\" 1700000000\n"
                 "mem,host=h1 used=3i 1700000000\n")
                .status,
            204);
  const HttpResponse bad = Post("/write", "cpu value=2\nbad v=1.2.3\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"("accepted":1,"rejected_count":1)"));
  auto loader = *ingest::Loader::Create(kafka_, *db_, {.group = "ingest-routes-test"});
  // Nothing is stored until the loader has read it.
  EXPECT_EQ(Count("SELECT count(*) FROM metrics"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM rejects"), 0);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline &&
         (Count("SELECT count(*) FROM sensor_readings") < 3 ||
          Count("SELECT count(*) FROM metrics") < 4 || Count("SELECT count(*) FROM rejects") < 3)) {
    ASSERT_TRUE(loader->RunOnce().ok());
  }
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_readings"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_readings WHERE extra = '{\"weight\":1E2}'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM rejects WHERE source = 'http'"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM rejects WHERE source = 'http' AND position = '10.0.0.1 "
                  "line 2' AND reason LIKE 'line 2: %' AND payload = 'bad v=1.2.3'::BLOB"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM metrics"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM metrics WHERE measurement = 'mem' AND tags['host'] = 'h1' "
                  "AND field = 'used' AND value = 3 AND epoch(time) = 1700000000"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM metrics WHERE field = 'text' AND text = 'x'"), 1);
  // Read on: the loader's own dead letters and the rest are skipped, nothing is stored twice.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(loader->RunOnce().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM rejects"), 3);
  EXPECT_EQ(loader->counters().duplicates.load(), 0);
}

TEST(PointsMessage, RoundTripsEveryFieldType) {
  Point p{.measurement = "m, x", .tags = {{"k", "v=1"}, {"", ""}}, .time_micros = -5};
  p.fields.push_back({.key = "f", .type = Field::kFloat, .number = -0.0});
  p.fields.push_back({.key = "i",
                      .type = Field::kInteger,
                      .number = -3e18,
                      .integer = -3'000'000'000'000'000'000});
  p.fields.push_back({.key = "u",
                      .type = Field::kUnsigned,
                      .number = 1.8e19,
                      .uinteger = 18'000'000'000'000'000'000u});
  p.fields.push_back({.key = "b", .type = Field::kBoolean, .number = 1});
  p.fields.push_back({.key = "s", .type = Field::kString, .text = std::string("a\0\"b", 4)});
  std::string message;
  store::StartPointsMessage(message);
  store::AppendPoint(p, message);
  store::AppendPoint(p, message);
  std::vector<Point> back;
  ASSERT_TRUE(store::DecodePointsMessage(message, back).ok());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].measurement, p.measurement);
  EXPECT_EQ(back[1].tags, p.tags);
  EXPECT_EQ(back[1].time_micros, -5);
  ASSERT_EQ(back[1].fields.size(), 5u);
  EXPECT_TRUE(std::signbit(back[1].fields[0].number));
  EXPECT_EQ(back[1].fields[1].integer, p.fields[1].integer);
  EXPECT_EQ(back[1].fields[2].uinteger, p.fields[2].uinteger);
  EXPECT_TRUE(back[1].fields[3].boolean());
  EXPECT_EQ(back[1].fields[4].text, p.fields[4].text);
  // Every truncation is refused, and adds nothing.
  for (size_t n = 2; n < message.size() / 2; ++n) {
    std::vector<Point> cut;
    EXPECT_FALSE(store::DecodePointsMessage(std::string_view(message).substr(0, n), cut).ok()) << n;
    EXPECT_TRUE(cut.empty());
  }
  EXPECT_FALSE(store::DecodePointsMessage("", back).ok());
}

// More rows than one data chunk holds, each with its own tags: every MAP entry lands on its row.
TEST(AppendPoints, RowsAndTagsAcrossChunks) {
  auto db = *store::Database::Open({.path = ":memory:", .memory_limit = "256MB"});
  auto writer = *store::Writer::Create(*db);
  store::WriteBatch batch;
  constexpr int kPoints = 3000;
  for (int i = 0; i < kPoints; ++i) {
    Point p{.measurement = "m", .time_micros = i};
    if (i % 3) p.tags = {{"host", fmt::format("h{}", i)}, {"i", std::to_string(i % 3)}};
    p.fields.push_back({.key = "v", .type = Field::kFloat, .number = double(i)});
    if (i % 2) p.fields.push_back({.key = "s", .type = Field::kString, .text = "t"});
    batch.points.push_back(std::move(p));
  }
  Result<store::CommitStats> stats = writer->Commit(batch, 7);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->metric_rows, kPoints + kPoints / 2);
  auto conn = *db->Connect();
  auto bad = conn->Query(
      "SELECT count(*) FROM metrics WHERE field = 'v' AND (value <> epoch_us(time) OR "
      "(value % 3 = 0) <> (cardinality(tags) = 0) OR (value % 3 <> 0 AND (tags['host'] <> 'h' || "
      "value::BIGINT OR tags['i'] <> (value::BIGINT % 3)::VARCHAR)))");
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  EXPECT_EQ(bad->Int64(0, 0), 0);
  auto texts = conn->Query(
      "SELECT count(*) FROM metrics WHERE field = 's' AND text = 't' AND value IS NULL AND "
      "epoch_us(time) % 2 = 1 AND epoch_us(ingest_time) = 7");
  ASSERT_TRUE(texts.ok()) << texts.status().message();
  EXPECT_EQ(texts->Int64(0, 0), kPoints / 2);
}

}  // namespace
}  // namespace dcmon::api
