// GET /api/v1/metrics: the line-protocol points of the `metrics` table (one row per field), paged
// on the table's ingest_seq like the record endpoints page on theirs: the writer numbers every row
// it stores, so "ingest_seq > cursor" resumes exactly after the last row read.
#include <fmt/format.h>

#include "api/routes.h"
#include "core/json_writer.h"
#include "store/duckdb.h"
#include "store/query.h"

namespace dcmon::api {

void MetricPoints(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  Result<CursorPage> page = ParseCursorPage(ctx, req);
  if (!page.ok()) return respond(Problem(400, "invalid query parameter", page.status().message()));
  if (auto m = req.Param("measurement"))
    page->where += fmt::format(" AND measurement = {}", store::SqlString(*m));
  OnPool(ctx.parts.reads, respond, [p = *page](store::Connection& conn) {
    Result<std::optional<int64_t>> end = PageEnd(conn, p, {"metrics"});
    if (!end.ok()) return StoreFailed(end.status());
    std::string body;
    {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("data");
      w.BeginArray();
      int64_t rows = 0;
      if (*end) {
        // Tags as a JSON object with sorted keys, so the same point reads back the same.
        Result<store::QueryResult> r = store::StreamQuery(
            conn, fmt::format("SELECT ingest_seq, epoch_us(time), measurement, "
                              "to_json(map_from_entries(list_sort(map_entries(tags))))::VARCHAR, "
                              "field, value, text FROM metrics WHERE ingest_seq > {} AND "
                              "ingest_seq <= {}{} ORDER BY ingest_seq",
                              p.start, **end, p.where));
        if (!r.ok()) return StoreFailed(r.status());
        Result<store::RowCursor> c = store::RowCursor::Open(
            *r, {DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR,
                 DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_DOUBLE, DUCKDB_TYPE_VARCHAR});
        if (!c.ok()) return StoreFailed(c.status());
        while (c->Next()) {
          w.BeginObject();
          w.Key("ingest_seq");
          w.Int(c->Int64(0));
          w.Key("time");
          w.Timestamp(c->Int64(1));
          w.Key("measurement");
          w.String(c->Text(2));
          w.Key("tags");
          w.BeginObject();
          w.Members(c->Text(3));
          w.EndObject();
          w.Key("field");
          w.String(c->Text(4));
          if (!c->IsNull(5)) {
            w.Key("value");
            w.Double(c->Double(5));
          }
          if (!c->IsNull(6)) {
            w.Key("text");
            w.String(c->Text(6));
          }
          w.EndObject();
          ++rows;
        }
        if (Status s = c->status(); !s.ok()) return StoreFailed(s);
      }
      w.EndArray();
      w.Key("next_cursor");
      if (rows == p.limit) {
        w.Int(**end);
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
