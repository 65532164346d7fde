// GET /api/v1/kpis through the API: the KPIs of committed records on a read worker, the default
// interval, and the parameter errors as problem JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "api/api.h"
#include "core/time.h"
#include "store/writer.h"

namespace dcmon::api {
namespace {

using ::testing::HasSubstr;

class KpiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
    writer_ = std::move(*store::Writer::Create(*db_));
    reads_ = std::move(*WorkerPool::Start(*db_, {.threads = 1}));
    tokens_.Add("reader", "read-token", kScopeRead);
  }
  HttpResponse Get(const std::string& target, const analytics::KpiOptions* kpis) {
    Api api(ApiOptions{}, ApiParts{.reads = reads_.get(),
                                   .live = &live_,
                                   .kpis = kpis,
                                   .events = &events_,
                                   .tokens = &tokens_});
    HttpRequest r;
    r.method = "GET";
    EXPECT_TRUE(ParseTarget(target, r.path, r.query));
    r.headers.emplace_back("authorization", "Bearer read-token");
    r.remote_address = "10.0.0.1";
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    api.Handle(std::move(r), [&p](HttpResponse resp) { p.set_value(std::move(resp)); });
    return f.get();
  }

  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<WorkerPool> reads_;
  analytics::LiveState live_{{}};
  analytics::KpiOptions options_;
  EventHub events_;
  TokenStore tokens_;
};

TEST_F(KpiRoutesTest, KpisOfTheStoredRecords) {
  const int64_t t0 = *ParseRfc3339("2026-12-01T10:00:00Z");
  store::WriteBatch b;
  for (int i = 0; i < 8; ++i) {
    for (auto [id, watts] : {std::pair{"meter_facility", 150e3}, std::pair{"meter_it", 100e3}}) {
      b.records.push_back(SensorReading{.device_id = id,
                                        .location = "site",
                                        .measurement_type = "power",
                                        .value = watts,
                                        .timestamp_micros = t0 + i * 15'000'000});
    }
  }
  ASSERT_TRUE(writer_->Commit(b, t0).ok());
  HttpResponse r = Get("/api/v1/kpis?from=2026-12-01T10:00:00Z&to=2026-12-01T10:02:00Z", &options_);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("from":"2026-12-01T10:00:00Z","to":"2026-12-01T10:02:00Z")"));
  EXPECT_THAT(r.body, HasSubstr(R"("pue":1.5,)"));
  // Default: the hour before now, which holds none of these records.
  r = Get("/api/v1/kpis", &options_);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("pue":null,)"));
}

TEST_F(KpiRoutesTest, ParameterErrorsNameTheParameter) {
  HttpResponse r = Get("/api/v1/kpis?from=yesterday", &options_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("from: "));
  r = Get("/api/v1/kpis?from=2026-12-01T10:00:00Z&to=2026-12-01T10:00:00Z", &options_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("from: must be before to"));
  r = Get("/api/v1/kpis?from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z", &options_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("at most 31 days"));
  EXPECT_EQ(Get("/api/v1/kpis", nullptr).status, 503);
}

}  // namespace
}  // namespace dcmon::api
