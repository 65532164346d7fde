#include "api/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <boost/asio.hpp>
#include <future>
#include <set>
#include <thread>

#include "api/openapi.h"
#include "api/routes.h"
#include "core/record_json.h"
#include "core/time.h"
#include "store/rollups_hourly.h"
#include "store/writer.h"

namespace dcmon::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int64_t kT0 = 1'732'000'000'000'000;

HttpRequest Get(std::string target, std::string token = "") {
  HttpRequest r;
  r.method = "GET";
  EXPECT_TRUE(ParseTarget(target, r.path, r.query));
  if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
  r.remote_address = "10.0.0.1";
  return r;
}

HttpRequest Post(std::string target, std::string body, std::string token = "") {
  HttpRequest r = Get(std::move(target), std::move(token));
  r.method = "POST";
  r.body = std::move(body);
  return r;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Build({}); }

  void Build(ApiOptions options,
             std::chrono::milliseconds query_timeout = WorkerPoolOptions().timeout) {
    api_.reset();
    reads_.reset();
    if (!db_) {
      db_ = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
      writer_ = std::move(*store::Writer::Create(*db_));
      auto admin = *db_->Connect();
      ASSERT_TRUE(admin->Execute("SET enable_external_access = false").ok());
    }
    reads_ = std::move(*WorkerPool::Start(*db_, {.threads = 2, .timeout = query_timeout}));
    tokens_ = TokenStore();
    tokens_.Add("reader", "read-token", kScopeRead);
    tokens_.Add("analyst", "query-token", kScopeQuery | kScopeRead);
    tokens_.Add("admin", "admin-token", kScopeAll);
    api_ = std::make_unique<Api>(options, ApiParts{.reads = reads_.get(),
                                                   .live = &live_,
                                                   .events = &events_,
                                                   .tokens = &tokens_,
                                                   .alerts = alerts_.get(),
                                                   .zones = &zones_});
  }

  HttpResponse Call(HttpRequest req) {
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    api_->Handle(std::move(req), [&p](HttpResponse r) { p.set_value(std::move(r)); });
    return f.get();
  }

  // n records alternating sensor and cooling, committed in batches of 700.
  std::vector<Record> Store(int n) {
    std::vector<Record> all;
    store::WriteBatch b;
    for (int i = 0; i < n; ++i) {
      if (i % 2 == 0) {
        SensorReading s{.device_id = "temp_rack-a" + std::to_string(i % 7),
                        .location = "Server Room A",
                        .measurement_type = "temperature",
                        .value = 20 + i * 0.01,
                        .timestamp_micros = kT0 + i * int64_t{1'000'000}};
        s.unit = "celsius";
        s.seq = i;
        b.records.push_back(s);
      } else {
        b.records.push_back(CoolingMetric{.system_id = "hvac_primary_a",
                                          .efficiency_percent = 85.2,
                                          .power_consumption_watts = 15000.0 + i,
                                          .timestamp_micros = kT0 + i * int64_t{1'000'000}});
      }
      all.push_back(b.records.back());
      if (b.records.size() == 700 || i == n - 1) {
        EXPECT_TRUE(writer_->Commit(b, kT0).ok());
        b.Clear();
      }
    }
    return all;
  }

  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<alert::Runtime> alerts_;
  Topology zones_{{{.crah = "r1-crah-1", .room = "r1", .racks = {"r1-a01", "r1-a02"}}}};
  std::unique_ptr<WorkerPool> reads_;
  analytics::LiveState live_{{}};
  EventHub events_;
  TokenStore tokens_;
  std::unique_ptr<Api> api_;
};

// The dashboard's floor plan: the newest value per device from live state, one room or all.
TEST_F(ApiTest, LatestFromLiveStateByRoom) {
  SensorReading a{.device_id = "room-1-a01-inlet-top",
                  .location = "Room 1",
                  .measurement_type = "temperature",
                  .value = 23.5,
                  .timestamp_micros = kT0};
  a.placement.room = "room-1";
  SensorReading b = a;
  b.device_id = "room-2-a01-inlet-top";
  b.placement.room = "room-2";
  live_.Apply({a, b});
  EXPECT_EQ(Call(Get("/api/v1/latest")).status, 401);
  HttpResponse one = Call(Get("/api/v1/latest?room=room-2", "read-token"));
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.content_type, "application/json");
  EXPECT_THAT(one.body,
              HasSubstr(R"("room":"room-2","data":[{"device_id":"room-2-a01-inlet-top")"));
  EXPECT_THAT(one.body, Not(HasSubstr("room-1-a01")));
  EXPECT_THAT(Call(Get("/api/v1/latest", "read-token")).body, HasSubstr("room-1-a01-inlet-top"));
}

TEST_F(ApiTest, TokensAndScopes) {
  HttpResponse none = Call(Get("/api/v1/summary"));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.content_type, "application/problem+json");
  EXPECT_THAT(none.body, HasSubstr(R"(needs a token with the \"read\" scope)"));
  EXPECT_EQ(Call(Get("/api/v1/summary", "wrong")).status, 401);
  EXPECT_EQ(Call(Get("/api/v1/summary", "read-token")).status, 200);
  HttpResponse forbidden = Call(Post("/api/v1/query", R"({"sql":"SELECT 1"})", "read-token"));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_THAT(forbidden.body, HasSubstr(R"(token \"reader\" lacks the \"query\" scope)"));
  EXPECT_EQ(Call(Post("/api/v1/query", R"({"sql":"SELECT 1"})", "query-token")).status, 200);
  EXPECT_EQ(Call(Get("/healthz")).status, 200);  // open
  // InfluxDB clients: "Token X" and Basic with the token as password.
  HttpRequest token = Get("/api/v1/summary");
  token.headers.emplace_back("authorization", "Token read-token");
  EXPECT_EQ(Call(token).status, 200);
  HttpRequest basic = Get("/api/v1/summary");
  basic.headers.emplace_back("authorization", "Basic dXNlcjpyZWFkLXRva2Vu");  // user:read-token
  EXPECT_EQ(Call(basic).status, 200);
}

TEST_F(ApiTest, LoopbackReadsOpenOnlyWhenConfigured) {
  HttpRequest local = Get("/api/v1/summary");
  local.loopback = true;
  EXPECT_EQ(Call(local).status, 401);
  Build({.open_reads_on_loopback = true});
  EXPECT_EQ(Call(local).status, 200);
  HttpRequest remote = Get("/api/v1/summary");
  EXPECT_EQ(Call(remote).status, 401);
  HttpRequest write = Post("/api/v1/query", R"({"sql":"SELECT 1"})");
  write.loopback = true;
  EXPECT_EQ(Call(write).status, 401);  // writes and queries always need a token
}

TEST_F(ApiTest, RateLimitsAnswer429WithRetryAfter) {
  Build({.per_token = {.rate = 1, .burst = 2}, .per_address = {.rate = 0}});
  EXPECT_EQ(Call(Get("/api/v1/summary", "read-token")).status, 200);
  EXPECT_EQ(Call(Get("/api/v1/summary", "read-token")).status, 200);
  HttpResponse limited = Call(Get("/api/v1/summary", "read-token"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_THAT(limited.headers, ::testing::Contains(Pair("Retry-After", "1")));
  EXPECT_EQ(Call(Get("/api/v1/summary", "admin-token")).status, 200);  // another token's bucket

  Build({.per_token = {.rate = 0}, .per_address = {.rate = 1, .burst = 1}});
  EXPECT_EQ(Call(Get("/healthz")).status, 200);
  EXPECT_EQ(Call(Get("/healthz")).status, 429);  // before auth, so open routes count too
}

TEST_F(ApiTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(Call(Get("/nope", "read-token")).status, 404);
  EXPECT_EQ(Call(Post("/api/v1/summary", "", "admin-token")).status, 405);
}

// Pages through both tables on the one cursor: every record exactly once, ascending, with its
// values as stored, and next_cursor null on the last page.
TEST_F(ApiTest, AirbytePagingReturnsEveryRecordOnce) {
  const std::vector<Record> stored = Store(2500);
  RecordDecoder decoder;
  simdjson::ondemand::parser parser;
  std::vector<int64_t> seqs;
  std::vector<Record> read;
  std::optional<int64_t> cursor = 0;
  int pages = 0;
  while (cursor) {
    HttpResponse r =
        Call(Get(fmt::format("/api/airbyte/all?start={}&limit=1000", *cursor), "read-token"));
    ASSERT_EQ(r.status, 200) << r.body;
    ++pages;
    simdjson::padded_string body(r.body);
    auto doc = parser.iterate(body);
    for (auto item : doc["data"].get_array()) {
      simdjson::ondemand::object object = item.get_object().value();
      std::string_view raw = object.raw_json().value();
      Result<Record> rec = decoder.Decode(raw);
      ASSERT_TRUE(rec.ok()) << rec.status().message();
      // ingest_seq rides along as an extra field: take it out to compare the record.
      std::visit(
          [&](auto& v) {
            ASSERT_TRUE(v.extra.starts_with(R"({"ingest_seq":)")) << v.extra;
            seqs.push_back(std::stoll(v.extra.substr(14)));
            v.extra.clear();
          },
          *rec);
      read.push_back(*rec);
    }
    auto next = doc["next_cursor"];
    cursor = next.is_null() ? std::nullopt : std::optional<int64_t>(next.get_int64().value());
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(read.size(), stored.size());
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(std::set<int64_t>(seqs.begin(), seqs.end()).size(), seqs.size());
  EXPECT_EQ(read, stored);  // committed in order, so ingest order is the order stored
}

TEST_F(ApiTest, FiltersAndEndCursor) {
  Store(100);
  HttpResponse r = Call(Get("/api/v1/readings?device=temp_rack-a0&limit=100", "read-token"));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, Not(HasSubstr("temp_rack-a1")));
  EXPECT_THAT(r.body, HasSubstr(R"("next_cursor":null)"));
  HttpResponse ended = Call(Get("/api/airbyte/all?start=10&end=20", "read-token"));
  EXPECT_THAT(ended.body, HasSubstr(R"("ingest_seq":11,)"));
  EXPECT_THAT(ended.body, HasSubstr(R"("ingest_seq":20,)"));
  EXPECT_THAT(ended.body, Not(HasSubstr(R"("ingest_seq":21,)")));
  EXPECT_THAT(ended.body, Not(HasSubstr(R"("ingest_seq":10,)")));
  for (std::string bad : {"limit=0", "limit=100001", "start=-1", "start=abc", "from=yesterday"}) {
    HttpResponse b = Call(Get("/api/v1/readings?" + bad, "read-token"));
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_EQ(b.content_type, "application/problem+json");
  }
}

TEST_F(ApiTest, SeriesFromRollupsOrRaw) {
  Store(600);  // temp_rack-a0 gets a reading every 14 s for 10 minutes
  const std::string range = "&from=2024-11-19T07:06:00Z&to=2024-11-19T07:16:00Z";
  HttpResponse minute = Call(Get(
      "/api/v1/series?device=temp_rack-a0&measurement=temperature&step=60" + range, "read-token"));
  ASSERT_EQ(minute.status, 200) << minute.body;
  EXPECT_THAT(minute.body, HasSubstr(R"("source":"rollups_1m")"));
  HttpResponse raw = Call(Get(
      "/api/v1/series?device=temp_rack-a0&measurement=temperature&step=30" + range, "read-token"));
  EXPECT_THAT(raw.body, HasSubstr(R"("source":"raw")"));
  EXPECT_THAT(raw.body, HasSubstr(R"("count":)"));
  HttpResponse cooling = Call(Get(
      "/api/v1/series?device=hvac_primary_a&measurement=power_consumption_watts&step=60" + range,
      "read-token"));
  EXPECT_THAT(cooling.body, HasSubstr(R"("min":)"));
  EXPECT_EQ(Call(Get("/api/v1/series?device=x", "read-token")).status, 400);
}

// A week's chart reads whole hours: the closed ones from rollups_1h, the open one from rollups_1m,
// both equal to SQL's aggregation of the readings; a room's series aggregates its sensors at the
// positions asked for.
TEST_F(ApiTest, SeriesOfHoursAndOfARoom) {
  const int64_t hour0 = kT0 / 3'600'000'000 * 3'600'000'000;
  store::WriteBatch b;
  for (int m = 0; m < 150; ++m) {  // two closed hours and half an hour, inlets and an exhaust
    for (const char* position : {"inlet_top", "inlet_bottom", "exhaust"}) {
      SensorReading s{.device_id = fmt::format("r1-a01-{}", position),
                      .location = "Room 1",
                      .measurement_type = "temperature",
                      .value = (position[0] == 'e' ? 35 : 20) + (m * 7 % 11) * 0.5,
                      .timestamp_micros = hour0 + m * int64_t{60'000'000} + (m % 3) * 1'000'000};
      s.placement = {.site = "dc", .room = "r1", .row = "a", .rack = "r1-a01"};
      s.position = position;
      b.records.push_back(s);
    }
  }
  ASSERT_TRUE(writer_->Commit(b, kT0).ok());
  ASSERT_EQ(*store::HourlyRollups({}).Run(writer_->connection()), 6);
  const std::string range = fmt::format("&from={}&to={}&step=3600", FormatRfc3339(hour0),
                                        FormatRfc3339(hour0 + 3 * int64_t{3'600'000'000}));
  auto want = [&](const std::string& where) {
    return *writer_->connection().Query(
        "SELECT count(*), min(value), max(value), avg(value), time_bucket(INTERVAL 1 HOUR, "
        "event_time) AS h FROM sensor_readings WHERE " +
        where + " GROUP BY h ORDER BY h");
  };
  auto check = [&](const std::string& query, const std::string& where) {
    HttpResponse r =
        Call(Get("/api/v1/series?measurement=temperature&" + query + range, "read-token"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, HasSubstr(R"("source":"rollups_1h")"));
    simdjson::dom::parser parser;
    simdjson::dom::array points = parser.parse(r.body)["points"].get_array().value();
    store::QueryResult expected = want(where);
    ASSERT_EQ(points.size(), 3u) << r.body;
    ASSERT_EQ(expected.rows(), 3u);
    size_t i = 0;
    for (simdjson::dom::element p : points) {
      EXPECT_EQ(p["count"].get_int64().value(), expected.Int64(0, i)) << query << " " << i;
      EXPECT_EQ(p["min"].get_double().value(), expected.Double(1, i)) << query << " " << i;
      EXPECT_EQ(p["max"].get_double().value(), expected.Double(2, i)) << query << " " << i;
      EXPECT_NEAR(p["avg"].get_double().value(), expected.Double(3, i), 1e-9) << query << " " << i;
      ++i;
    }
  };
  check("device=r1-a01-inlet_top", "device_id = 'r1-a01-inlet_top'");
  check("room=r1&position=inlet", "room = 'r1' AND position LIKE 'inlet%'");
  check("room=r1", "room = 'r1'");
  EXPECT_THAT(Call(Get("/api/v1/series?room=r1&position=inlet&measurement=temperature" + range,
                       "read-token"))
                  .body,
              HasSubstr(R"({"room":"r1","position":"inlet","measurement":"temperature")"));
  EXPECT_EQ(
      Call(Get("/api/v1/series?device=x&room=r1&measurement=temperature", "read-token")).status,
      400);
  EXPECT_EQ(
      Call(Get("/api/v1/series?device=x&position=inlet&measurement=temperature", "read-token"))
          .status,
      400);
  EXPECT_EQ(Call(Get("/api/v1/series?room=r1&measurement=fan_speed_percent", "read-token")).status,
            400);
}

// The cooling units' series (kind=cooling) in one request: per bucket, each unit's mean added up
// (the fleet's power), against SQL over the raw metrics; units reporting at different rates, so a
// mean over all readings times the units would differ.
TEST_F(ApiTest, SeriesOfEveryCoolingUnit) {
  store::WriteBatch b;
  for (int s = 0; s < 600; ++s) {
    for (int u = 0; u < 3; ++u) {
      if (s % (u + 1) != 0) continue;  // unit u reports every u + 1 seconds
      b.records.push_back(CoolingMetric{.system_id = fmt::format("crah-{}", u),
                                        .efficiency_percent = 80.0 + u,
                                        .power_consumption_watts = 1000.0 * (u + 1) + s % 17,
                                        .timestamp_micros = kT0 + s * int64_t{1'000'000}});
    }
  }
  ASSERT_TRUE(writer_->Commit(b, kT0).ok());
  const std::string range = fmt::format("&from={}&to={}&step=60", FormatRfc3339(kT0),
                                        FormatRfc3339(kT0 + 600 * int64_t{1'000'000}));
  HttpResponse r = Call(
      Get("/api/v1/series?kind=cooling&measurement=power_consumption_watts" + range, "read-token"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"({"kind":"cooling","measurement":"power_consumption_watts")"));
  store::QueryResult expected = *writer_->connection().Query(fmt::format(
      "WITH per_unit AS (SELECT time_bucket(INTERVAL 1 MINUTE, event_time) AS m, system_id, "
      "avg(power_consumption_watts) AS mean FROM cooling_metrics WHERE event_time >= "
      "make_timestamptz({0}) AND event_time < make_timestamptz({1}) GROUP BY ALL) SELECT "
      "sum(mean), m FROM per_unit GROUP BY m ORDER BY m",
      kT0, kT0 + 600 * int64_t{1'000'000}));
  simdjson::dom::parser parser;
  simdjson::dom::array points = parser.parse(r.body)["points"].get_array().value();
  ASSERT_EQ(points.size(), expected.rows()) << r.body;
  ASSERT_GE(expected.rows(), 10u);
  size_t i = 0;
  for (simdjson::dom::element p : points) {
    EXPECT_NEAR(p["total"].get_double().value(), expected.Double(0, i), 1e-6) << i;
    ++i;
  }
  for (std::string bad : {"kind=cooling&measurement=temperature", "kind=sensor&measurement=power",
                          "kind=cooling&device=crah-0&measurement=power_consumption_watts"}) {
    EXPECT_EQ(Call(Get("/api/v1/series?" + bad + range, "read-token")).status, 400) << bad;
  }
}

TEST_F(ApiTest, ZonesAreTheTopology) {
  HttpResponse r = Call(Get("/api/v1/zones", "read-token"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"zones":[{"unit":"r1-crah-1","room":"r1","racks":["r1-a01","r1-a02"]}]})");
  EXPECT_EQ(Call(Get("/api/v1/zones")).status, 401);
}

TEST_F(ApiTest, QueryAllowsOneSelectAndRefusesTheRest) {
  Store(10);
  HttpResponse ok = Call(
      Post("/api/v1/query",
           R"({"sql":"SELECT count(*) AS n, 1.5 AS x, 'a' AS s, NULL AS z FROM sensor_readings;"})",
           "query-token"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body,
            R"({"columns":["n","x","s","z"],"rows":[[5,1.5,"a",null]],"truncated":false})");
  for (std::string sql : {
           "DROP TABLE sensor_readings",
           "SELECT 1; SELECT 2",
           "SELECT 1; DROP TABLE sensor_readings",
           "ATTACH '/tmp/x.duckdb' AS x",
           "SET memory_limit = '100GB'",
           "COPY sensor_readings TO '/tmp/out.csv'",
           "SELECT * FROM read_csv('/etc/passwd')",
           "SELECT * FROM read_text('/etc/hostname')",
           "INSTALL httpfs",
           "PRAGMA database_list",
           "",
           "SELEC 1",
       }) {
    HttpResponse r = Call(Post("/api/v1/query", "{\"sql\":\"" + sql + "\"}", "query-token"));
    EXPECT_EQ(r.status, 400) << sql << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
  }
  EXPECT_EQ(Call(Post("/api/v1/query", "not json", "query-token")).status, 400);
  EXPECT_EQ(Call(Post("/api/v1/query", R"({"sql": 1})", "query-token")).status, 400);
  // Still serving, and the table is intact.
  EXPECT_THAT(Call(Post("/api/v1/query", R"({"sql":"SELECT count(*) FROM sensor_readings"})",
                        "query-token"))
                  .body,
              HasSubstr("[[5]]"));
}

TEST_F(ApiTest, QueryRowCap) {
  Build({.query_row_cap = 3});
  HttpResponse r =
      Call(Post("/api/v1/query", R"json({"sql":"SELECT * FROM range(10)"})json", "query-token"));
  EXPECT_THAT(r.body, HasSubstr(R"("rows":[[0],[1],[2]],"truncated":true)"));
}

// A query that runs out of time gets the answer every endpoint gives for a deadline: 503 with
// Retry-After, "query timed out", and the server goes on serving.
TEST_F(ApiTest, QueryTimeoutIsUnavailableWithRetryAfter) {
  Build({}, std::chrono::milliseconds(200));
  HttpResponse r = Call(Post(
      "/api/v1/query", R"({"sql":"SELECT count(*) FROM range(1000000000000) a"})", "query-token"));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("title":"query timed out")"));
  EXPECT_THAT(r.body, HasSubstr("ran past its time limit"));
  EXPECT_THAT(r.headers, testing::Contains(Pair("Retry-After", "1")));
  EXPECT_EQ(Call(Post("/api/v1/query", R"({"sql":"SELECT 1"})", "query-token")).status, 200);
}

// One mapping from a Status code to an HTTP status, for every route.
HttpRequest Delete(std::string target, std::string token) {
  HttpRequest r = Get(std::move(target), std::move(token));
  r.method = "DELETE";
  return r;
}

TEST_F(ApiTest, AlertRoutesNeedTheirScopeAndNameTheField) {
  EXPECT_EQ(Call(Get("/api/v1/alerts", "read-token")).status, 503);  // alerting off
  auto rt = alert::Runtime::Create({}, {}, *db_, [] { return kT0; });
  ASSERT_TRUE(rt.ok()) << rt.status().message();
  alerts_ = std::move(*rt);
  alerts_->Start({}, nullptr);
  Build({});
  HttpResponse r = Call(Get("/api/v1/alerts", "read-token"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"data":[]})");
  r = Call(Get("/api/v1/alerts?state=resolved", "read-token"));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("state: expected pending, firing or active"));
  r = Call(Get("/api/v1/alerts/events?after=0", "read-token"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"data":[],"next_cursor":null,"limit":1000})");
  EXPECT_EQ(Call(Post("/api/v1/alerts/CrahUnitDown%2Fx/ack", "", "read-token")).status, 403);
  r = Call(Post("/api/v1/alerts/CrahUnitDown%2Fx/ack", "", "admin-token"));
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr(R"(alert \"CrahUnitDown/x\": no such pending or firing alert)"));
  EXPECT_EQ(Call(Get("/api/v1/silences", "read-token")).status, 403);

  r = Call(Post(
      "/api/v1/silences",
      R"({"matchers":[{"name":"room","value":"(","is_regex":true}],"ends_at":"2030-01-01T00:00:00Z"})",
      "admin-token"));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("matchers[0].value: not a valid regex"));
  r = Call(Post("/api/v1/silences", R"({"matchers":[{"name":"room","value":"room-1"}]})",
                "admin-token"));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("ends_at: missing"));
  r = Call(Post(
      "/api/v1/silences",
      R"({"matchers":[{"name":"room","value":"room-1"}],"ends_at":"2030-01-01T00:00:00Z","created_by":"alice"})",
      "admin-token"));
  ASSERT_EQ(r.status, 201) << r.body;
  simdjson::dom::parser parser;
  const std::string id(parser.parse(r.body)["id"].get_string().value());
  EXPECT_THAT(Call(Get("/api/v1/silences", "admin-token")).body, HasSubstr(id));
  r = Call(Delete("/api/v1/silences/" + id, "admin-token"));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr(R"("status":"expired")"));
  EXPECT_EQ(Call(Delete("/api/v1/silences/" + id, "admin-token")).status, 404);
  EXPECT_EQ(Call(Get("/api/v1/silences/" + id, "admin-token")).status, 405);
}

TEST(PathParam, OnePartMayHoldSlashes) {
  EXPECT_EQ(PathParam("/api/v1/alerts/{id}/ack", "/api/v1/alerts/Rule/dev/event/ack"),
            "Rule/dev/event");
  EXPECT_EQ(PathParam("/api/v1/alerts/{id}/ack", "/api/v1/alerts/events"), std::nullopt);
  EXPECT_EQ(PathParam("/api/v1/alerts/{id}/ack", "/api/v1/alerts//ack"), std::nullopt);
  EXPECT_EQ(PathParam("/api/v1/alerts", "/api/v1/alerts"), "");
  EXPECT_EQ(PathParam("/api/v1/alerts", "/api/v1/alerts/x"), std::nullopt);
}

TEST(ProblemFrom, MapsEveryCode) {
  const std::pair<Status, int> cases[] = {
      {InvalidArgument("x"), 400},   {Unauthenticated("x"), 401},
      {PermissionDenied("x"), 403},  {NotFound("x"), 404},
      {Aborted("x"), 409},           {FailedPrecondition("x"), 409},
      {ResourceExhausted("x"), 503}, {dcmon::Unavailable("x"), 503},
      {DeadlineExceeded("x"), 503},  {IoError("x"), 500},
      {Internal("x"), 500},
  };
  for (const auto& [status, http] : cases) {
    const HttpResponse r = ProblemFrom(status);
    EXPECT_EQ(r.status, http) << StatusCodeName(status.code());
    EXPECT_EQ(r.content_type, "application/problem+json");
    EXPECT_THAT(r.body, HasSubstr(R"("detail":"x")"));
    EXPECT_EQ(r.headers.size(), http == 503 ? 1u : 0u);
  }
  EXPECT_THAT(ProblemFrom(NotFound("no such device"), "unknown device").body,
              HasSubstr(R"("title":"unknown device")"));
}

// /openapi.json documents every route the server has, with its method.
TEST(OpenApi, DocumentsEveryRoute) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(std::string(OpenApiDocument())).value();
  EXPECT_EQ(std::string_view(doc["openapi"].get_string().value()), "3.1.0");
  for (const Api::Route& r : Routes()) {
    std::string method(r.method);
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    simdjson::dom::element op;
    EXPECT_EQ(doc["paths"][r.path][method].get(op), simdjson::SUCCESS) << r.method << " " << r.path;
  }
}

TEST(ApiOptions, FromConfig) {
  Result<Config> c = Config::Parse(
      "[api]\nrate_limit_per_token = 10\nopen_reads_on_loopback = true\npage_limit = 50\n", "t");
  Result<ApiOptions> o = ApiOptionsFrom(*c);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->per_token.rate, 10);
  EXPECT_TRUE(o->open_reads_on_loopback);
  EXPECT_EQ(o->page_limit, 50);
  EXPECT_THAT(ApiOptionsFrom(*Config::Parse("[api]\npage_limit = 0\n", "t")).status().message(),
              HasSubstr("api.page_limit"));
  EXPECT_THAT(ApiOptionsFrom(*Config::Parse("[api]\nrate_limit_per_token = \"fast\"\n", "t"))
                  .status()
                  .message(),
              HasSubstr("api.rate_limit_per_token: expected a number from 0 to"));
}

TEST(Auth, ConfiguredTokensAreHashed) {
  const std::string hash = Sha256Hex("s3cret");  // printf s3cret | sha256sum
  EXPECT_EQ(hash, "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
  Result<Config> c = Config::Parse(
      fmt::format("[api.tokens.grafana]\nsha256 = \"{}\"\nscopes = \"read, query\"\n", hash), "t");
  Result<TokenStore> t = TokenStore::FromConfig(*c);
  ASSERT_TRUE(t.ok()) << t.status().message();
  const Token* found = t->Find("s3cret");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "grafana");
  EXPECT_EQ(found->scopes, kScopeRead | kScopeQuery);
  EXPECT_EQ(t->Find("s3cret "), nullptr);
  EXPECT_THAT(TokenStore::FromConfig(
                  *Config::Parse("[api.tokens.x]\nsha256 = \"abc\"\nscopes = \"read\"\n", "t"))
                  .status()
                  .message(),
              HasSubstr("api.tokens.x.sha256: expected 64 lower-case hex digits"));
  EXPECT_THAT(ParseScopes("read,fly").status().message(), HasSubstr("got \"fly\" (unknown scope)"));
  EXPECT_NE(GenerateToken(), GenerateToken());
}

// The natural TOML list is read like the documented string; a wrong type says what was expected
// and what came.
TEST(Auth, ScopesAsTomlArray) {
  const std::string hash = Sha256Hex("s3cret");
  Result<TokenStore> t = TokenStore::FromConfig(*Config::Parse(
      fmt::format("[api.tokens.grafana]\nsha256 = \"{}\"\nscopes = [\"read\", \"query\"]\n", hash),
      "t"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->Find("s3cret")->scopes, kScopeRead | kScopeQuery);
  EXPECT_THAT(
      TokenStore::FromConfig(
          *Config::Parse(fmt::format("[api.tokens.x]\nsha256 = \"{}\"\nscopes = [1]\n", hash), "t"))
          .status()
          .message(),
      HasSubstr("api.tokens.x.scopes: expected read, write, query, admin or alerts, got \"1\""));
  EXPECT_THAT(
      TokenStore::FromConfig(
          *Config::Parse(fmt::format("[api.tokens.x]\nsha256 = \"{}\"\nscopes = []\n", hash), "t"))
          .status()
          .message(),
      HasSubstr("api.tokens.x.scopes: expected at least one of read, write, query, admin"));
}

// The server itself, on a real socket: limits and timeouts end a bad request with an answer or a
// close, and the server keeps serving.
class EchoHandler : public Handler {
 public:
  void Handle(HttpRequest request, Respond respond) override {
    respond(
        Json(fmt::format(R"({{"path":"{}","body_bytes":{}}})", request.path, request.body.size())));
  }
};

std::string Exchange(uint16_t port, const std::string& request, bool wait_for_close = true) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  do {
    const size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
  } while (!ec && wait_for_close);
  return out;
}

TEST(HttpServer, LimitsTimeoutsAndKeepAlive) {
  EchoHandler handler;
  auto server = HttpServer::Start({.host = "127.0.0.1",
                                   .port = 0,
                                   .body_limit = 1000,
                                   .header_limit = 2000,
                                   .header_timeout = std::chrono::seconds(1)},
                                  handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const uint16_t port = (*server)->port();
  // Two requests on one connection.
  const std::string two = Exchange(port,
                                   "GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: "
                                   "x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(two, HasSubstr(R"({"path":"/a","body_bytes":0})"));
  EXPECT_THAT(two, HasSubstr(R"({"path":"/b","body_bytes":0})"));
  // Too large a body, too large a header, not HTTP at all.
  EXPECT_THAT(Exchange(port, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                                 std::string(5000, 'a')),
              HasSubstr("413 Payload Too Large"));
  EXPECT_THAT(
      Exchange(port, "GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n"),
      HasSubstr("431"));
  EXPECT_THAT(Exchange(port, "HELLO THERE\r\n\r\n"), HasSubstr("400 Bad Request"));
  EXPECT_THAT(Exchange(port, "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"), HasSubstr("400 Bad Request"));
  // Slowloris: half a header, then nothing. The server hangs up after the header timeout.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Exchange(port, "GET /slow HTTP/1.1\r\nHost: x\r\n"), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // And it still serves.
  EXPECT_THAT(Exchange(port, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
              HasSubstr(R"("path":"/ok")"));
  (*server)->Stop(std::chrono::seconds(1));
}

TEST(EventHub, SlowSubscribersAreDroppedNotBuffered) {
  EventHub hub(100);
  auto fast = hub.Subscribe();
  auto slow = hub.Subscribe();
  std::vector<std::optional<std::string>> got;
  fast->Next([&](std::optional<std::string> c) { got.push_back(std::move(c)); });
  hub.Publish("summary", R"({"a":1})");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "event: summary\ndata: {\"a\":1}\n\n");
  for (int i = 0; i < 20; ++i) hub.Publish("readings", "[1,2,3,4,5,6,7,8,9,10]");
  EXPECT_EQ(hub.dropped(), 2);  // both: `fast` never asked for more either
  std::optional<std::string> end = "x";
  slow->Next([&](std::optional<std::string> c) { end = std::move(c); });
  EXPECT_EQ(end, std::nullopt);
}

// Found building the HTTP fuzz harness: a pool whose connections fail (here: the configuration is
// locked, so Connect()'s SET TimeZone is refused) returned no error but aborted the process, its
// destructor joining threads that were never started.
TEST(WorkerPool, StartThatCannotConnectReturnsTheError) {
  auto db = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
  auto admin = *db->Connect();
  ASSERT_TRUE(admin->Execute("SET lock_configuration = true").ok());
  Result<std::unique_ptr<WorkerPool>> pool = WorkerPool::Start(*db, {.threads = 2});
  ASSERT_FALSE(pool.ok());
  EXPECT_THAT(pool.status().message(), HasSubstr("api: worker connection"));
}

}  // namespace
}  // namespace dcmon::api
