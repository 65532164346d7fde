// The route table and the handlers behind it (private to api/): records_routes.cc (paged records,
// devices, series), ingest_routes.cc (records and line protocol in, analysts' SQL), ops_routes.cc
// (summary, stream, metrics, health, OpenAPI).
#pragma once

#include <string_view>
#include <vector>

#include "api/api.h"

namespace dcmon::api {

struct Api::Context {
  ApiOptions options;
  ApiParts parts;
  Api* api = nullptr;  // for WriteMetrics
};

using RouteHandler = void (*)(Api::Context&, HttpRequest&, Respond&);

struct Api::Route {
  std::string_view method;
  std::string_view path;
  uint32_t scope;  // 0: open to everyone (health, OpenAPI)
  RouteHandler handle;
};

const std::vector<Api::Route>& Routes();

// A query parameter as an integer in [min, max], `fallback` when absent; the error names it.
Result<int64_t> IntParam(const HttpRequest& req, std::string_view name, int64_t fallback,
                         int64_t min, int64_t max);
// A store failure as the routes answer it (ProblemFrom; a deadline is "query timed out").
HttpResponse StoreFailed(const Status& s);

// Runs `work` on a pool thread; answers 503 when the pool's queue is full.
void OnPool(WorkerPool* pool, Respond& respond,
            std::function<HttpResponse(store::Connection&)> work);

void AirbyteAll(Api::Context&, HttpRequest&, Respond&);
void Readings(Api::Context&, HttpRequest&, Respond&);
void Cooling(Api::Context&, HttpRequest&, Respond&);
void MetricPoints(Api::Context&, HttpRequest&, Respond&);  // metrics_routes.cc
void Devices(Api::Context&, HttpRequest&, Respond&);
void Anomalies(Api::Context&, HttpRequest&, Respond&);  // anomaly_routes.cc
void Series(Api::Context&, HttpRequest&, Respond&);
void Ingest(Api::Context&, HttpRequest&, Respond&);
void LineProtocolWrite(Api::Context&, HttpRequest&, Respond&);
void Query(Api::Context&, HttpRequest&, Respond&);
void Summary(Api::Context&, HttpRequest&, Respond&);
void Stream(Api::Context&, HttpRequest&, Respond&);
void Metrics(Api::Context&, HttpRequest&, Respond&);
void Healthz(Api::Context&, HttpRequest&, Respond&);
void Ping(Api::Context&, HttpRequest&, Respond&);
void Readyz(Api::Context&, HttpRequest&, Respond&);
void OpenApi(Api::Context&, HttpRequest&, Respond&);
void WebAsset(Api::Context&, HttpRequest&, Respond&);  // web_routes.cc: the dashboard

}  // namespace dcmon::api
