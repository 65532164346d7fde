// The route table, and the answers that need no query: the facility summary (live state), the
// CRAH zones, the event stream, /metrics, health and readiness, and the OpenAPI document.
#include <fmt/format.h>

#include "api/openapi.h"
#include "api/routes.h"
#include "core/json_writer.h"

namespace dcmon::api {

const std::vector<Api::Route>& Routes() {
  static const std::vector<Api::Route> kRoutes = {
      {"GET", "/api/airbyte/all", kScopeRead, AirbyteAll},
      {"GET", "/api/v1/readings", kScopeRead, Readings},
      {"GET", "/api/v1/cooling", kScopeRead, Cooling},
      {"GET", "/api/v1/metrics", kScopeRead, MetricPoints},
      {"GET", "/api/v1/devices", kScopeRead, Devices},
      {"GET", "/api/v1/anomalies", kScopeRead, Anomalies},
      {"GET", "/api/v1/series", kScopeRead, Series},
      {"GET", "/api/v1/summary", kScopeRead, Summary},
      {"GET", "/api/v1/latest", kScopeRead, Latest},
      {"GET", "/api/v1/zones", kScopeRead, Zones},
      {"GET", "/api/v1/kpis", kScopeRead, Kpis},
      {"GET", "/api/v1/stream", kScopeRead, Stream},
      {"GET", "/api/v1/alerts", kScopeRead, Alerts},
      {"GET", "/api/v1/alerts/events", kScopeRead, AlertEvents},
      {"POST", "/api/v1/alerts/{id}/ack", kScopeAlerts, AcknowledgeAlert},
      {"GET", "/api/v1/silences", kScopeAlerts, ListSilences},
      {"POST", "/api/v1/silences", kScopeAlerts, CreateSilence},
      {"DELETE", "/api/v1/silences/{id}", kScopeAlerts, ExpireSilence},
      {"POST", "/api/v1/ingest", kScopeWrite, Ingest},
      {"POST", "/write", kScopeWrite, LineProtocolWrite},
      {"POST", "/api/v2/write", kScopeWrite, LineProtocolWrite},
      {"POST", "/api/v1/query", kScopeQuery, Query},
      {"GET", "/metrics", kScopeRead, Metrics},
      {"GET", "/healthz", 0, Healthz},
      {"GET", "/ping", 0, Ping},
      {"HEAD", "/ping", 0, Ping},
      {"GET", "/readyz", 0, Readyz},
      {"GET", "/openapi.json", 0, OpenApi},
      {"GET", "/", 0, WebAsset},
      {"GET", "/assets/app.js", 0, WebAsset},
      {"GET", "/assets/app.css", 0, WebAsset},
  };
  return kRoutes;
}

void OnPool(WorkerPool* pool, Respond& respond,
            std::function<HttpResponse(store::Connection&)> work) {
  auto shared = std::make_shared<Respond>(std::move(respond));
  const bool queued = pool && pool->Submit([shared, work = std::move(work)](store::Connection& c) {
    (*shared)(work(c));
  });
  if (!queued) {
    (*shared)(Unavailable("server busy", "too many requests are waiting; retry shortly", 1));
  }
}

void Summary(Api::Context& ctx, HttpRequest&, Respond& respond) {
  respond(Json(*ctx.parts.live->Summary()));
}

void Zones(Api::Context& ctx, HttpRequest&, Respond& respond) {
  std::string body;
  {
    JsonWriter w(body);
    w.BeginObject();
    w.Key("zones");
    w.BeginArray();
    if (ctx.parts.zones) {
      for (const Topology::Zone& z : ctx.parts.zones->zones) {
        w.BeginObject();
        w.Key("unit");
        w.String(z.crah);
        w.Key("room");
        w.String(z.room);
        w.Key("racks");
        w.BeginArray();
        for (const std::string& r : z.racks) w.String(r);
        w.EndArray();
        w.EndObject();
      }
    }
    w.EndArray();
    w.EndObject();
  }
  respond(Json(std::move(body)));
}

void Stream(Api::Context& ctx, HttpRequest&, Respond& respond) {
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.events = ctx.parts.events->Subscribe();
  // The current summary first, so a new dashboard has something to draw at once.
  r.body = fmt::format("retry: 2000\nevent: summary\ndata: {}\n\n", *ctx.parts.live->Summary());
  respond(std::move(r));
}

void Metrics(Api::Context& ctx, HttpRequest&, Respond& respond) {
  Exposition e;
  ctx.api->WriteMetrics(e);
  if (ctx.parts.pipeline_metrics) ctx.parts.pipeline_metrics(e);
  for (const auto& [name, value] : ctx.parts.live->Gauges()) {
    e.Gauge("dcmon_facility_" + name, "Facility now, from the live summary (NaN: not known yet)",
            {}, value);
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = e.Finish();
  respond(std::move(r));
}

void Healthz(Api::Context&, HttpRequest&, Respond& respond) { respond(Json(R"({"status":"ok"})")); }

// InfluxDB 1.x clients (the influx CLI) check the server with /ping before they write.
void Ping(Api::Context&, HttpRequest&, Respond& respond) {
  HttpResponse r{.status = 204, .content_type = "text/plain"};
  r.headers.emplace_back("X-Influxdb-Version", "1.8-dcmon");
  respond(std::move(r));
}

void Readyz(Api::Context& ctx, HttpRequest&, Respond& respond) {
  const Readiness r = ctx.parts.readiness ? ctx.parts.readiness() : Readiness{};
  std::string body;
  {
    JsonWriter w(body);
    w.BeginObject();
    w.Key("ready");
    w.Bool(r.ready);
    w.Key("checks");
    w.BeginObject();
    for (const auto& [name, state] : r.checks) {
      w.DynamicKey(name);
      w.String(state);
    }
    w.EndObject();
    w.EndObject();
  }
  respond(Json(std::move(body), r.ready ? 200 : 503));
}

void OpenApi(Api::Context&, HttpRequest&, Respond& respond) {
  respond(Json(std::string(OpenApiDocument())));
}

}  // namespace dcmon::api
