// GET /api/v1/anomalies: the detectors' anomalies (store/anomalies.h), paged on anomaly_seq.
#include <fmt/format.h>

#include <charconv>

#include "api/routes.h"
#include "core/json_writer.h"
#include "store/anomalies.h"

namespace dcmon::api {

// ?after=&limit=&device=&min_score= → {"data":[...], "next_cursor": N|null, "limit": L};
// next_cursor is null once a page comes back short.
void Anomalies(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  store::AnomalyFilter f;
  Result<int64_t> after = IntParam(req, "after", 0, 0, INT64_MAX);
  Result<int64_t> limit =
      IntParam(req, "limit", ctx.options.page_limit, 1, ctx.options.max_page_limit);
  for (const Status& s : {after.status(), limit.status()}) {
    if (!s.ok()) return respond(Problem(400, "invalid query parameter", s.message()));
  }
  f.after = *after;
  f.limit = *limit;
  if (auto v = req.Param("device")) f.device_id = std::string(*v);
  if (auto v = req.Param("min_score")) {
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), f.min_score);
    if (ec != std::errc() || end != v->data() + v->size() || !(f.min_score >= 0) ||
        f.min_score > 1) {
      return respond(
          Problem(400, "invalid query parameter",
                  fmt::format("min_score: expected a score from 0 to 1, got \"{}\"", *v)));
    }
  }
  OnPool(ctx.parts.reads, respond, [f](store::Connection& conn) {
    Result<std::vector<store::StoredAnomaly>> rows = store::ReadAnomalies(conn, f);
    if (!rows.ok()) return StoreFailed(rows.status());
    std::string body;
    {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("data");
      w.BeginArray();
      for (const store::StoredAnomaly& a : *rows) store::WriteAnomalyJson(w, a);
      w.EndArray();
      w.Key("next_cursor");
      if (static_cast<int64_t>(rows->size()) == f.limit) {
        w.Int(rows->back().anomaly_seq);
      } else {
        w.Null();
      }
      w.Key("limit");
      w.Int(f.limit);
      w.EndObject();
    }
    return Json(std::move(body));
  });
}

}  // namespace dcmon::api
