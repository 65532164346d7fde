// The route table and the handlers behind it (private to api/): records_routes.cc (paged records,
// devices, series), ingest_routes.cc (records and line protocol in, analysts' SQL), ops_routes.cc
// (summary, stream, metrics, health, OpenAPI).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/device_fragments.h"

namespace dcmon::api {

struct Api::Context {
  ApiOptions options;
  ApiParts parts;
  Api* api = nullptr;  // for WriteMetrics
  // The paged record reads' device fragments (records_routes.cc); shared with their pool tasks.
  std::shared_ptr<DeviceFragmentCache> devices = std::make_shared<DeviceFragmentCache>();
};

using RouteHandler = void (*)(Api::Context&, HttpRequest&, Respond&);

struct Api::Route {
  std::string_view method;
  std::string_view path;  // exact, or with one "{name}" part: "/api/v1/silences/{id}"
  uint32_t scope;         // 0: open to everyone (health, OpenAPI)
  RouteHandler handle;
};

const std::vector<Api::Route>& Routes();

// The "{name}" part of `path` under route pattern `pattern` (it may hold '/', as alert ids do),
// or nullopt when the path does not fit the pattern. A pattern without a part fits only itself.
std::optional<std::string_view> PathParam(std::string_view pattern, std::string_view path);

// A query parameter as an integer in [min, max], `fallback` when absent; the error names it.
Result<int64_t> IntParam(const HttpRequest& req, std::string_view name, int64_t fallback,
                         int64_t min, int64_t max);
// An RFC 3339 query parameter as UTC microseconds, nullopt when absent; the error names it.
Result<std::optional<int64_t>> TimeParam(const HttpRequest& req, std::string_view name);
// A bad query parameter: 400 with the reason.
HttpResponse BadParam(const Status& s);
// A page on an ingest cursor, as every paged endpoint reads it: ingest_seq > start (<= end when
// given), ascending, at most `limit` rows, and the endpoint's filters.
struct CursorPage {
  int64_t start = 0;
  std::optional<int64_t> end;
  int64_t limit = 0;
  std::string where;  // extra filters, each " AND ..."
};
// ?start=&end=&limit= (records_routes.cc); the error names the parameter.
Result<CursorPage> ParseCursorPage(const Api::Context& ctx, const HttpRequest& req);
// The page's last ingest_seq over `tables` (their ingest_seq in one sequence): the limit-th past
// the cursor, or the last when fewer follow; nullopt when none do. Found without sorting every row
// past the cursor (records_routes.cc says how).
Result<std::optional<int64_t>> PageEnd(store::Connection& conn, const CursorPage& p,
                                       const std::vector<std::string_view>& tables);

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
void Kpis(Api::Context&, HttpRequest&, Respond&);  // kpi_routes.cc
void Ingest(Api::Context&, HttpRequest&, Respond&);
void LineProtocolWrite(Api::Context&, HttpRequest&, Respond&);
void Query(Api::Context&, HttpRequest&, Respond&);
void Summary(Api::Context&, HttpRequest&, Respond&);
void Zones(Api::Context&, HttpRequest&, Respond&);
void Stream(Api::Context&, HttpRequest&, Respond&);
void Metrics(Api::Context&, HttpRequest&, Respond&);
void Healthz(Api::Context&, HttpRequest&, Respond&);
void Ping(Api::Context&, HttpRequest&, Respond&);
void Readyz(Api::Context&, HttpRequest&, Respond&);
void OpenApi(Api::Context&, HttpRequest&, Respond&);
void WebAsset(Api::Context&, HttpRequest&, Respond&);  // web_routes.cc: the dashboard
void Latest(Api::Context&, HttpRequest&, Respond&);    // web_routes.cc: its floor plan
// alerts_routes.cc
void Alerts(Api::Context&, HttpRequest&, Respond&);
void AlertEvents(Api::Context&, HttpRequest&, Respond&);
void AcknowledgeAlert(Api::Context&, HttpRequest&, Respond&);
void ListSilences(Api::Context&, HttpRequest&, Respond&);
void CreateSilence(Api::Context&, HttpRequest&, Respond&);
void ExpireSilence(Api::Context&, HttpRequest&, Respond&);

}  // namespace dcmon::api
