// GET /api/v1/kpis?from=&to=: the facility KPIs over an interval (analytics/kpi.h), computed on a
// read connection; the last hour by default. docs/analytics.md has every field.
#include <fmt/format.h>

#include "analytics/kpi.h"
#include "api/routes.h"
#include "core/time.h"

namespace dcmon::api {

namespace {
constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kMaxRange = 31 * 24 * kHour;  // a month of raw rows is about what a read may scan
}  // namespace

void Kpis(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  if (!ctx.parts.kpis) return respond(Problem(503, "KPIs unavailable", "this server has no store"));
  Result<std::optional<int64_t>> from = TimeParam(req, "from");
  Result<std::optional<int64_t>> to = TimeParam(req, "to");
  if (!from.ok()) return respond(BadParam(from.status()));
  if (!to.ok()) return respond(BadParam(to.status()));
  const int64_t end = to->value_or(NowMicros());
  const int64_t begin = from->value_or(end - kHour);
  if (begin >= end) return respond(BadParam(InvalidArgument("from: must be before to")));
  if (end - begin > kMaxRange) {
    return respond(BadParam(
        InvalidArgument("to: at most 31 days after from (dcmon report covers longer periods)")));
  }
  OnPool(ctx.parts.reads, respond, [options = ctx.parts.kpis, begin, end](store::Connection& conn) {
    Result<analytics::Kpis> k = analytics::ComputeKpis(conn, *options, begin, end);
    if (!k.ok()) return StoreFailed(k.status());
    return Json(analytics::KpisToJson(*k));
  });
}

}  // namespace dcmon::api
