// What comes in over HTTP: records (POST /api/v1/ingest, produced to Kafka like any other source,
// answered once Kafka has acknowledged them), InfluxDB line protocol (POST /write and
// /api/v2/write, what Telegraf and the influx CLI send, stored as generic metrics), and analysts'
// SQL (POST /api/v1/query, read-only).
// Bad records are answered line by line and kept in `rejects`; the good ones around them go on.
#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <span>

#include "api/routes.h"
#include "core/json_writer.h"
#include "core/line_protocol.h"
#include "core/record_json.h"
#include "core/time.h"
#include "store/duckdb.h"
#include "store/points.h"
#include "store/query.h"

namespace dcmon::api {
namespace {

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  return s;
}

// A JSON array of records: the body must be valid JSON as a whole; then each element is decoded
// on its own, so one bad element rejects only itself. Positions are 1-based element numbers,
// reported as "line" like NDJSON's.
Status DecodeArray(std::string_view body, RecordDecoder& decoder, NdjsonBatch& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc); err) {
    return InvalidArgument(fmt::format("body: not JSON ({})", simdjson::error_message(err)));
  }
  simdjson::dom::array array;
  if (doc.get_array().get(array)) {
    return InvalidArgument("body: expected a JSON array of records or NDJSON");
  }
  int64_t n = 0;
  for (simdjson::dom::element element : array) {
    ++n;
    ++out.lines;
    const std::string raw = simdjson::minify(element);
    Result<Record> r = decoder.Decode(raw);
    if (r.ok()) {
      out.records.push_back(std::move(*r));
    } else {
      out.rejects.push_back({n, fmt::format("line {}: {}", n, r.status().message()), raw});
    }
  }
  return Status::Ok();
}

// Line `n` (1-based) of a body, without its newline: the raw text of a rejected line.
std::string_view LineAt(std::string_view body, int64_t n) {
  for (int64_t i = 1; i < n && !body.empty(); ++i) {
    const size_t nl = body.find('\n');
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
  }
  return body.substr(0, body.find('\n'));
}

// Keeps the rejects in the store with their reasons (source "http"), however many there are.
Status StoreRejects(store::Connection& conn, const std::vector<RejectedLine>& rejects,
                    std::string_view remote) {
  if (rejects.empty()) return Status::Ok();
  duckdb_appender appender = nullptr;
  Status status;
  if (duckdb_appender_create(conn.raw(), nullptr, "rejects", &appender) == DuckDBError) {
    status =
        IoError(fmt::format("duckdb appender for rejects: {}", duckdb_appender_error(appender)));
  }
  const duckdb_timestamp now{NowMicros()};
  std::string position;
  for (size_t i = 0; status.ok() && i < rejects.size(); ++i) {
    const RejectedLine& r = rejects[i];
    position = fmt::format("{} line {}", remote, r.line);
    const bool ok =
        duckdb_append_timestamp(appender, now) == DuckDBSuccess &&
        duckdb_append_varchar(appender, "http") == DuckDBSuccess &&
        duckdb_append_varchar_length(appender, position.data(), position.size()) == DuckDBSuccess &&
        duckdb_append_varchar_length(appender, r.reason.data(), r.reason.size()) == DuckDBSuccess &&
        duckdb_append_blob(appender, r.raw.data(), r.raw.size()) == DuckDBSuccess &&
        duckdb_appender_end_row(appender) == DuckDBSuccess;
    if (!ok)
      status =
          IoError(fmt::format("duckdb append to rejects: {}", duckdb_appender_error(appender)));
  }
  if (status.ok() && duckdb_appender_flush(appender) == DuckDBError)
    status = IoError(fmt::format("duckdb append to rejects: {}", duckdb_appender_error(appender)));
  duckdb_appender_destroy(&appender);
  return status;
}

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
    // Every reject is kept in the store; the answer lists the first kMaxListed.
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

}  // namespace

void Ingest(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (!ctx.parts.producer) {
    return respond(Unavailable("ingest unavailable", "this server has no Kafka producer"));
  }
  auto body = std::make_shared<std::string>(std::move(req.body));
  OnPool(ctx.parts.writes, respond,
         [&ctx, body, remote = req.remote_address](store::Connection& conn) {
           thread_local RecordDecoder decoder;
           NdjsonBatch batch;
           const std::string_view text = TrimLeft(*body);
           if (!text.empty() && text.front() == '[') {
             if (Status s = DecodeArray(text, decoder, batch); !s.ok()) {
               return Problem(400, "malformed request body", s.message());
             }
           } else {
             decoder.DecodeNdjson(*body, batch);
           }
           if (batch.lines == 0) {
             return Problem(400, "empty request body",
                            "send a JSON array of records or NDJSON (one record per line)");
           }
           bus::Producer& producer = *ctx.parts.producer;
           bus::DeliveryTracker delivered;
           std::string line;
           for (const Record& r : batch.records) {
             line.clear();
             AppendRecordJson(r, line);
             const std::string& topic = std::holds_alternative<SensorReading>(r)
                                            ? ctx.parts.kafka.sensors_topic
                                            : ctx.parts.kafka.cooling_topic;
             if (Status s = producer.Produce(topic, DeviceIdOf(r), line, {}, &delivered); !s.ok()) {
               // Some may be in Kafka already: a retry re-sends them, and the loader drops
               // re-sends.
               (void)delivered.Wait(producer.handle(), std::chrono::seconds(10));
               return Unavailable("Kafka unavailable", s.message());
             }
           }
           // Answer only once Kafka holds them: a 200 means the records are durable.
           if (Status s = delivered.Wait(producer.handle(), std::chrono::seconds(10)); !s.ok()) {
             return Unavailable("Kafka did not take every record", s.message());
           }
           if (Status s = StoreRejects(conn, batch.rejects, remote); !s.ok()) {
             return Problem(500, "store error",
                            fmt::format("keeping the rejects: {}", s.message()));
           }
           // 200 when every record was taken; 207-like partial success is still 200 with the
           // rejects listed, except when nothing at all was good.
           const int status = batch.records.empty() ? 400 : 200;
           return IngestAnswer(static_cast<int64_t>(batch.records.size()), batch.rejects, status);
         });
}

// InfluxDB answers a write with 204 and no body; a bad line is a 400 whose JSON names it (the
// good lines of the request are stored all the same, as InfluxDB does).
void LineProtocolWrite(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  const LineProtocolApi version =
      req.path == "/write" ? LineProtocolApi::kV1 : LineProtocolApi::kV2;
  Result<Precision> precision = ParsePrecision(req.Param("precision").value_or(""), version);
  if (!precision.ok()) {
    return respond(Problem(400, "invalid query parameter", precision.status().message()));
  }
  auto body = std::make_shared<std::string>(std::move(req.body));
  OnPool(ctx.parts.writes, respond,
         [body, p = *precision, remote = req.remote_address](store::Connection& conn) {
           const int64_t now = NowMicros();
           const LineProtocolBatch batch = ParseLineProtocol(*body, p, now);
           if (Status s = store::AppendPoints(conn, batch.points, now); !s.ok()) {
             return Problem(500, "store error", s.message());
           }
           if (batch.errors.empty())
             return HttpResponse{.status = 204, .content_type = "text/plain"};
           std::vector<RejectedLine> rejects;
           for (const LineError& e : batch.errors) {
             rejects.push_back({e.line, e.status.message(), std::string(LineAt(*body, e.line))});
           }
           if (Status s = StoreRejects(conn, rejects, remote); !s.ok()) {
             return Problem(500, "store error",
                            fmt::format("keeping the rejects: {}", s.message()));
           }
           HttpResponse r = IngestAnswer(static_cast<int64_t>(batch.points.size()), rejects, 400);
           return r;
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
