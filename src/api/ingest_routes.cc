// What comes in over HTTP: records (POST /api/v1/ingest) and InfluxDB line protocol (POST /write
// and /api/v2/write, what Telegraf and the influx CLI send, stored as generic metrics), adapted to
// ingest::HttpIngest, which produces them to Kafka and returns once Kafka acknowledged them; and
// analysts' SQL (POST /api/v1/query, read-only).
// Bad records are answered line by line and reach `rejects` through Kafka; the good ones around
// them go on.
#include <fmt/format.h>
#include <simdjson.h>

#include <span>

#include "api/routes.h"
#include "core/json_writer.h"
#include "core/line_protocol.h"
#include "core/time.h"
#include "store/query.h"

namespace dcmon::api {
namespace {

constexpr size_t kMaxListed = 1000;

// {"accepted": N, "rejected_count": M, "rejected": [{"line", "reason"}, ...]}; a problem document
// when `status` is not 200.
HttpResponse IngestAnswer(int64_t accepted, const std::vector<RejectedLine>& rejects, int status) {
  std::string body;
  {
    JsonWriter w(body);
    w.BeginObject();
    if (status != 200) {  // a problem document (RFC 9457) with the rejects as an extension
      w.Key("type");
      w.String("about:blank");
      w.Key("title");
      w.String(accepted ? "some lines were rejected" : "no valid records");
      w.Key("status");
      w.Int(status);
      w.Key("detail");
      w.String(rejects.empty() ? std::string_view() : std::string_view(rejects[0].reason));
    }
    w.Key("accepted");
    w.Int(accepted);
    w.Key("rejected_count");
    w.Int(static_cast<int64_t>(rejects.size()));
    w.Key("rejected");
    w.BeginArray();
    // Every reject reaches the store; the answer lists the first kMaxListed.
    for (const RejectedLine& r : std::span(rejects).first(std::min(rejects.size(), kMaxListed))) {
      w.BeginObject();
      w.Key("line");
      w.Int(r.line);
      w.Key("reason");
      w.String(r.reason);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  HttpResponse r = Json(std::move(body), status);
  if (status != 200) r.content_type = "application/problem+json";
  return r;
}

// A failed HttpIngest call: a malformed body is the client's (400), Kafka not taking the records in
// time is 503 with Retry-After (ProblemFrom, by the Status code).
HttpResponse IngestFailure(const Status& s) {
  if (s.code() == StatusCode::kInvalidArgument) return ProblemFrom(s, "malformed request body");
  return ProblemFrom(s, "Kafka did not take every record");
}

}  // namespace

void Ingest(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (!ctx.parts.ingest) {
    return respond(Unavailable("ingest unavailable", "this server has no Kafka producer"));
  }
  auto body = std::make_shared<std::string>(std::move(req.body));
  OnPool(ctx.parts.writes, respond, [&ctx, body, remote = req.remote_address](store::Connection&) {
    Result<ingest::IngestOutcome> r = ctx.parts.ingest->Records(*body, remote);
    if (!r.ok()) return IngestFailure(r.status());
    if (r->lines == 0) {
      return Problem(400, "empty request body",
                     "send a JSON array of records or NDJSON (one record per line)");
    }
    // 200 when every record was taken; 207-like partial success is still 200 with the
    // rejects listed, except when nothing at all was good.
    return IngestAnswer(r->accepted, r->rejects, r->accepted == 0 ? 400 : 200);
  });
}

// InfluxDB answers a write with 204 and no body; a bad line is a 400 whose JSON names it (the
// good lines of the request are stored all the same, as InfluxDB does).
void LineProtocolWrite(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (!ctx.parts.ingest) {
    return respond(Unavailable("ingest unavailable", "this server has no Kafka producer"));
  }
  const LineProtocolApi version =
      req.path == "/write" ? LineProtocolApi::kV1 : LineProtocolApi::kV2;
  Result<Precision> precision = ParsePrecision(req.Param("precision").value_or(""), version);
  if (!precision.ok()) {
    return respond(Problem(400, "invalid query parameter", precision.status().message()));
  }
  auto body = std::make_shared<std::string>(std::move(req.body));
  OnPool(ctx.parts.writes, respond,
         [&ctx, body, p = *precision, remote = req.remote_address](store::Connection&) {
           Result<ingest::IngestOutcome> r =
               ctx.parts.ingest->LineProtocol(*body, p, NowMicros(), remote);
           if (!r.ok()) return IngestFailure(r.status());
           if (r->rejects.empty()) return HttpResponse{.status = 204, .content_type = "text/plain"};
           return IngestAnswer(r->accepted, r->rejects, 400);
         });
}

void Query(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(req.body);
  simdjson::ondemand::document doc;
  std::string_view sql;
  if (parser.iterate(padded).get(doc) || doc["sql"].get_string().get(sql)) {
    return respond(
        Problem(400, "malformed request body", "expected a JSON object {\"sql\": \"SELECT ...\"}"));
  }
  OnPool(ctx.parts.reads, respond,
         [sql = std::string(sql), cap = ctx.options.query_row_cap](store::Connection& conn) {
           Result<store::TextTable> t = store::RunReadOnlyQuery(conn, sql, cap);
           if (!t.ok()) {
             return ProblemFrom(t.status(), t.status().code() == StatusCode::kDeadlineExceeded
                                                ? "query timed out"
                                                : "query refused");
           }
           return Json(store::TableToJson(*t));
         });
}

}  // namespace dcmon::api
