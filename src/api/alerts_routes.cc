// The alert routes (docs/alerting.md): current alerts from the runtime's memory, the history from
// `alert_events` on a read connection (paged on event_seq), acknowledgements and silences (scope
// `alerts`), which the runtime keeps in memory and writes to the store on its own thread.
#include <fmt/format.h>
#include <simdjson.h>

#include "alert/runtime.h"
#include "api/routes.h"
#include "core/json_writer.h"
#include "core/time.h"
#include "store/duckdb.h"

namespace dcmon::api {
namespace {

using store::SqlString;

bool Off(const Api::Context& ctx, Respond& respond) {
  if (ctx.parts.alerts) return false;
  respond(Unavailable("alerting is off", "this server runs with alert.enabled = false", 60));
  return true;
}

void WriteSilence(const alert::Silence& s, int64_t now, JsonWriter& w) {
  w.BeginObject();
  w.Key("id");
  w.String(s.id);
  w.Key("matchers");
  alert::WriteMatchersJson(s.matchers(), w);
  w.Key("starts_at");
  w.Timestamp(s.starts_at_micros());
  w.Key("ends_at");
  w.Timestamp(s.ends_at_micros());
  w.Key("comment");
  w.String(s.comment());
  w.Key("created_by");
  w.String(s.created_by());
  w.Key("status");
  w.String(s.Active(now) ? "active" : now < s.starts_at_micros() ? "pending" : "expired");
  w.EndObject();
}

std::string SilenceJson(const alert::Silence& s, int64_t now) {
  std::string out;
  {
    JsonWriter w(out);
    WriteSilence(s, now, w);
  }
  return out;
}

HttpResponse BadBody(std::string_view detail) {
  return Problem(400, "malformed request body", detail);
}

// {"matchers":[{"name","value","is_regex"}], "starts_at"?, "ends_at", "comment"?, "created_by"?}
Result<alert::Silence> ParseSilence(std::string_view body, int64_t now) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj))
    return InvalidArgument("expected a JSON object {\"matchers\": [...], \"ends_at\": ...}");
  std::vector<alert::Matcher> matchers;
  std::optional<int64_t> starts, ends;
  std::string comment, created_by;
  bool saw_matchers = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return InvalidArgument("malformed key");
    simdjson::ondemand::value v = field.value();
    if (key == "matchers") {
      saw_matchers = true;
      simdjson::ondemand::array arr;
      if (v.get_array().get(arr)) return InvalidArgument("matchers: expected an array");
      for (auto element : arr) {
        const size_t i = matchers.size();
        simdjson::ondemand::object m;
        if (element.get_object().get(m))
          return InvalidArgument(fmt::format("matchers[{}]: expected an object", i));
        alert::Matcher out;
        for (auto mf : m) {
          std::string_view mk, text;
          if (mf.unescaped_key().get(mk)) return InvalidArgument("malformed key");
          if (mk == "is_regex") {
            if (mf.value().get_bool().get(out.is_regex))
              return InvalidArgument(fmt::format("matchers[{}].is_regex: expected a boolean", i));
          } else if (mk == "name" || mk == "value") {
            if (mf.value().get_string().get(text))
              return InvalidArgument(fmt::format("matchers[{}].{}: expected a string", i, mk));
            (mk == "name" ? out.name : out.value) = std::string(text);
          } else {
            return InvalidArgument(fmt::format(
                "matchers[{}].{}: unknown field (expected name, value, is_regex)", i, mk));
          }
        }
        matchers.push_back(std::move(out));
      }
    } else if (key == "starts_at" || key == "ends_at") {
      std::string_view text;
      if (v.get_string().get(text))
        return InvalidArgument(fmt::format("{}: expected an RFC 3339 time", key));
      Result<int64_t> t = ParseRfc3339(text);
      if (!t.ok()) return t.status().WithPrefix(fmt::format("{}: ", key));
      (key == "starts_at" ? starts : ends) = *t;
    } else if (key == "comment" || key == "created_by") {
      std::string_view text;
      if (v.get_string().get(text))
        return InvalidArgument(fmt::format("{}: expected a string", key));
      (key == "comment" ? comment : created_by) = std::string(text);
    } else {
      return InvalidArgument(fmt::format(
          "{}: unknown field (expected matchers, starts_at, ends_at, comment, created_by)", key));
    }
  }
  if (!saw_matchers) return InvalidArgument("matchers: missing");
  if (!ends) return InvalidArgument("ends_at: missing");
  return alert::Silence::Create(std::move(matchers), starts.value_or(now), *ends,
                                std::move(comment), std::move(created_by));
}

}  // namespace

void Alerts(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (Off(ctx, respond)) return;
  alert::AlertFilter f;
  auto param = [&](std::string_view name) { return std::string(req.Param(name).value_or("")); };
  if (auto state = req.Param("state")) f.state = std::string(*state);
  if (f.state != "active" && f.state != "pending" && f.state != "firing") {
    return respond(
        Problem(400, "invalid query parameter",
                fmt::format("state: expected pending, firing or active, got \"{}\"", f.state)));
  }
  f.rule = param("rule");
  f.device = param("device");
  f.room = param("room");
  f.severity = param("severity");
  std::string body;
  {
    JsonWriter w(body);
    w.BeginObject();
    w.Key("data");
    w.BeginArray();
    for (const alert::AlertStatus& s : ctx.parts.alerts->Current(f)) alert::WriteAlertJson(s, w);
    w.EndArray();
    w.EndObject();
  }
  respond(Json(std::move(body)));
}

void AlertEvents(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  Result<int64_t> after = IntParam(req, "after", 0, 0, INT64_MAX);
  if (!after.ok())
    return respond(Problem(400, "invalid query parameter", after.status().message()));
  Result<int64_t> limit =
      IntParam(req, "limit", ctx.options.page_limit, 1, ctx.options.max_page_limit);
  if (!limit.ok())
    return respond(Problem(400, "invalid query parameter", limit.status().message()));
  std::string where = fmt::format("event_seq > {}", *after);
  for (std::string_view name : {"rule", "device"}) {
    if (auto v = req.Param(name)) where += fmt::format(" AND {} = {}", name, SqlString(*v));
  }
  const std::string sql = fmt::format(
      "SELECT event_seq, alert_id, rule, device, state, epoch_us(\"at\"), severity, category, "
      "value, inhibited_by, affected_racks_json, labels_json, summary FROM alert_events WHERE {} "
      "ORDER BY event_seq LIMIT {}",
      where, *limit);
  OnPool(ctx.parts.reads, respond, [sql, limit = *limit](store::Connection& conn) {
    Result<store::QueryResult> r = conn.Query(sql);
    if (!r.ok()) return StoreFailed(r.status());
    std::string body;
    {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("data");
      w.BeginArray();
      const size_t rows = r->rows();
      for (size_t row = 0; row < rows; ++row) {
        auto text = [&](size_t col) {
          if (r->IsNull(col, row)) {
            w.Null();
          } else {
            w.String(*r->Text(col, row));
          }
        };
        w.BeginObject();
        w.Key("event_seq");
        w.Int(r->Int64(0, row));
        w.Key("alert_id");
        text(1);
        w.Key("rule");
        text(2);
        w.Key("device");
        text(3);
        w.Key("state");
        text(4);
        w.Key("at");
        w.Timestamp(r->Int64(5, row));
        w.Key("severity");
        text(6);
        w.Key("category");
        text(7);
        w.Key("value");
        w.Double(r->Double(8, row));
        w.Key("inhibited_by");
        text(9);
        w.Key("affected_racks_json");
        text(10);
        w.Key("labels_json");
        text(11);
        w.Key("summary");
        text(12);
        w.EndObject();
      }
      w.EndArray();
      w.Key("next_cursor");
      if (static_cast<int64_t>(rows) == limit) {
        w.Int(r->Int64(0, rows - 1));
      } else {
        w.Null();
      }
      w.Key("limit");
      w.Int(limit);
      w.EndObject();
    }
    return Json(std::move(body));
  });
}

void AcknowledgeAlert(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (Off(ctx, respond)) return;
  const std::string id(*PathParam("/api/v1/alerts/{id}/ack", req.path));
  std::string by = "api";
  if (!req.body.empty()) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(req.body);
    simdjson::ondemand::document doc;
    std::string_view who;
    if (parser.iterate(padded).get(doc) || doc["by"].get_string().get(who) || who.empty())
      return respond(BadBody("expected a JSON object {\"by\": \"who acknowledges\"} or no body"));
    by = std::string(who);
  }
  Result<alert::AlertStatus> s = ctx.parts.alerts->Acknowledge(id, std::move(by));
  if (!s.ok()) return respond(ProblemFrom(s.status()));
  respond(Json(alert::AlertJson(*s)));
}

void ListSilences(Api::Context& ctx, HttpRequest&, Respond& respond) {
  if (Off(ctx, respond)) return;
  const int64_t now = NowMicros();
  std::string body;
  {
    JsonWriter w(body);
    w.BeginObject();
    w.Key("data");
    w.BeginArray();
    for (const alert::Silence& s : ctx.parts.alerts->Silences()) WriteSilence(s, now, w);
    w.EndArray();
    w.EndObject();
  }
  respond(Json(std::move(body)));
}

void CreateSilence(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (Off(ctx, respond)) return;
  const int64_t now = NowMicros();
  Result<alert::Silence> s = ParseSilence(req.body, now);
  if (!s.ok()) return respond(BadBody(s.status().message()));
  Result<alert::Silence> added = ctx.parts.alerts->AddSilence(std::move(*s));
  if (!added.ok()) return respond(ProblemFrom(added.status()));
  respond(Json(SilenceJson(*added, now), 201));
}

void ExpireSilence(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (Off(ctx, respond)) return;
  const std::string id(*PathParam("/api/v1/silences/{id}", req.path));
  Result<alert::Silence> s = ctx.parts.alerts->ExpireSilence(id);
  if (!s.ok()) return respond(ProblemFrom(s.status()));
  respond(Json(SilenceJson(*s, NowMicros())));
}

}  // namespace dcmon::api
