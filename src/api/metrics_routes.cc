// GET /api/v1/metrics: the line-protocol points of the `metrics` table (one row per field), paged
// on an ingest cursor like the record endpoints. The table has no ingest_seq yet, so the cursor is
// the batch's ingest_time in microseconds: one writer stores metrics, one batch per transaction,
// each batch with one ingest_time later than the one before, so "ingest_time > cursor" resumes
// exactly after the last batch read. A page therefore holds whole batches: it ends before a batch
// that does not fit, and holds more than `limit` rows only when one batch alone is larger.
#include <fmt/format.h>

#include <charconv>

#include "api/routes.h"
#include "core/json_writer.h"
#include "store/duckdb.h"

namespace dcmon::api {
namespace {

struct MetricsPage {
  int64_t start = 0;
  std::optional<int64_t> end;
  int64_t limit = 0;
  std::string where;  // the cursor range and filters, " AND ..."
};

Result<MetricsPage> ParseMetricsPage(const Api::Context& ctx, const HttpRequest& req) {
  MetricsPage p;
  Result<int64_t> start = IntParam(req, "start", 0, 0, INT64_MAX);
  if (!start.ok()) return start.status();
  p.start = *start;
  p.where = fmt::format(" AND ingest_time > make_timestamptz({})", p.start);
  if (req.Param("end")) {
    Result<int64_t> end = IntParam(req, "end", 0, 0, INT64_MAX);
    if (!end.ok()) return end.status();
    p.where += fmt::format(" AND ingest_time <= make_timestamptz({})", *end);
  }
  Result<int64_t> limit =
      IntParam(req, "limit", ctx.options.page_limit, 1, ctx.options.max_page_limit);
  if (!limit.ok()) return limit.status();
  p.limit = *limit;
  if (auto m = req.Param("measurement"))
    p.where += fmt::format(" AND measurement = {}", store::SqlString(*m));
  return p;
}

// The last ingest_time the page takes, from the first limit+1 ingest times after the cursor, and
// whether more rows follow.
std::pair<int64_t, bool> PageBound(const std::vector<int64_t>& times, int64_t limit) {
  const size_t n = times.size();
  if (static_cast<int64_t>(n) <= limit) return {times.back(), false};
  const int64_t last = times[limit - 1];
  if (last < times[limit]) return {last, true};
  // The batch at `last` goes on past the page: stop before it, or take it whole if it is first.
  for (int64_t i = limit - 2; i >= 0; --i) {
    if (times[i] < last) return {times[i], true};
  }
  return {last, true};
}

}  // namespace

void MetricPoints(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  Result<MetricsPage> page = ParseMetricsPage(ctx, req);
  if (!page.ok()) return respond(Problem(400, "invalid query parameter", page.status().message()));
  OnPool(ctx.parts.reads, respond, [p = *page](store::Connection& conn) {
    Result<store::QueryResult> times = conn.Query(
        fmt::format("SELECT epoch_us(ingest_time) FROM metrics WHERE TRUE{} ORDER BY ingest_time "
                    "LIMIT {}",
                    p.where, p.limit + 1));
    if (!times.ok()) return StoreFailed(times.status());
    std::vector<int64_t> t(times->rows());
    for (size_t i = 0; i < t.size(); ++i) t[i] = times->Int64(0, i);
    std::string body;
    {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("data");
      w.BeginArray();
      std::optional<int64_t> next;
      if (!t.empty()) {
        const auto [bound, more] = PageBound(t, p.limit);
        if (more) next = bound;
        // Tags as a JSON object with sorted keys, so the same point reads back the same.
        Result<store::QueryResult> r = conn.Query(fmt::format(
            "SELECT epoch_us(ingest_time), epoch_us(time), measurement, "
            "to_json(map_from_entries(list_sort(map_entries(tags))))::VARCHAR, field, value, "
            "text FROM metrics WHERE ingest_time <= make_timestamptz({}){} ORDER BY ingest_time, "
            "rowid",
            bound, p.where));
        if (!r.ok()) return StoreFailed(r.status());
        for (size_t i = 0; i < r->rows(); ++i) {
          w.BeginObject();
          w.Key("ingest_cursor");
          w.Int(r->Int64(0, i));
          w.Key("time");
          w.Timestamp(r->Int64(1, i));
          w.Key("measurement");
          w.String(r->Text(2, i).value_or(""));
          w.Key("tags");
          w.BeginObject();
          w.Members(r->Text(3, i).value_or("{}"));
          w.EndObject();
          w.Key("field");
          w.String(r->Text(4, i).value_or(""));
          if (!r->IsNull(5, i)) {
            w.Key("value");
            w.Double(r->Double(5, i));
          }
          if (!r->IsNull(6, i)) {
            w.Key("text");
            w.String(*r->Text(6, i));
          }
          w.EndObject();
        }
      }
      w.EndArray();
      w.Key("next_cursor");
      if (next) {
        w.Int(*next);
      } else {
        w.Null();
      }
      w.Key("limit");
      w.Int(p.limit);
      w.EndObject();
    }
    return Json(std::move(body));
  });
}

}  // namespace dcmon::api
