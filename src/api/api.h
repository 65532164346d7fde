// dcmon's HTTP API: the routes (docs/api.md, /openapi.json), and around every one of them token
// auth with scopes, per-token and per-address rate limits, problem-JSON errors, and request
// counting for /metrics. Reads run on the read pool's connections, ingest on the write pool (it may
// wait for Kafka), and the cheap answers (summary, health, metrics) on the I/O thread from live
// state. Thread-safe; the parts it is given must outlive it.
//
//   Api api(options, parts);
//   auto server = HttpServer::Start({.port = 8080}, api);
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alert/runtime.h"
#include "analytics/kpi.h"
#include "analytics/live_state.h"
#include "api/auth.h"
#include "api/event_hub.h"
#include "api/http.h"
#include "api/rate_limit.h"
#include "api/server.h"
#include "api/worker_pool.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/topology.h"
#include "ingest/http_ingest.h"

namespace dcmon::api {

struct ApiOptions {
  bool open_reads_on_loopback = false;         // GETs from 127.0.0.1/::1 need no token
  RateLimitOptions per_token{.rate = 5000};    // requests/s per API token (burst: twice)
  RateLimitOptions per_address{.rate = 5000};  // requests/s per client address, before auth
  int page_limit = 1000;                       // default page size of the paged endpoints
  int max_page_limit = 10000;                  // largest page a client may ask for
  size_t query_row_cap = 10000;                // rows POST /api/v1/query returns at most
  int read_threads = 2;                        // read workers: queries that run at once
  int ingest_threads = 4;                      // ingest workers: they mostly wait for Kafka's acks
  std::chrono::seconds query_timeout{10};      // a query running longer is interrupted
  Status Validate() const;
};
// api.open_reads_on_loopback, api.rate_limit_per_token, api.rate_limit_per_address (0 = off),
// api.page_limit, api.max_page_limit, api.query_row_cap, api.read_threads, api.ingest_threads,
// api.query_timeout_s.
Result<ApiOptions> ApiOptionsFrom(const Config& config);

// What the pipeline reports about itself, for /readyz and /metrics; filled by serve.
struct Readiness {
  bool ready = true;
  std::vector<std::pair<std::string, std::string>> checks;  // name → "ok" or the problem
};

struct ApiParts {
  WorkerPool* reads = nullptr;           // queries
  WorkerPool* writes = nullptr;          // ingest: its threads wait for Kafka's acknowledgements
  ingest::HttpIngest* ingest = nullptr;  // records and line protocol in; null: they answer 503
  analytics::LiveState* live = nullptr;
  const analytics::KpiOptions* kpis = nullptr;  // GET /api/v1/kpis; null: it answers 503
  EventHub* events = nullptr;
  const TokenStore* tokens = nullptr;
  alert::Runtime* alerts = nullptr;        // null: alerting is off (the alert routes answer 503)
  const Topology* zones = nullptr;  // GET /api/v1/zones; null: no zones known
  std::function<Readiness()> readiness;
  std::function<void(Exposition&)> pipeline_metrics;  // the loader's and broker's counters
};

class Api final : public Handler {
 public:
  Api(ApiOptions options, ApiParts parts);
  ~Api() override;
  void Handle(HttpRequest request, Respond respond) override;
  // The API's own metrics: requests by route and status, latency, stream clients, queues.
  void WriteMetrics(Exposition& e);

  struct Route;
  struct Context;

 private:
  bool Authorize(const HttpRequest& req, const Route& route, const Respond& respond);
  void Count(std::string_view route, int status, double seconds);

  std::unique_ptr<Context> ctx_;
  const std::vector<Route>& routes_;
  RateLimiter per_token_;
  RateLimiter per_address_;
  std::mutex count_mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) → count
  Histogram latency_;
};

}  // namespace dcmon::api
