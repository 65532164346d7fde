#include "store/anomalies.h"

#include <fmt/format.h>

#include "store/appender.h"
#include "store/query.h"
#include "store/schema.h"

namespace dcmon::store {

Result<std::unique_ptr<AnomalyStore>> AnomalyStore::Open(Database& db) {
  Result<std::unique_ptr<Connection>> conn = db.Connect();
  if (!conn.ok()) return conn.status();
  // Whichever opens the store first brings it to kSchemaVersion (the loader's writer does too).
  if (Result<int> v = Migrate(**conn); !v.ok()) return v.status();
  Result<QueryResult> r = (*conn)->Query("SELECT coalesce(max(anomaly_seq), 0) FROM anomalies");
  if (!r.ok()) return r.status().WithPrefix("store: anomalies: ");
  const int64_t last = r->Int64(0, 0);
  return std::unique_ptr<AnomalyStore>(new AnomalyStore(std::move(*conn), last));
}

Result<std::vector<StoredAnomaly>> AnomalyStore::Append(std::span<const detect::Anomaly> anomalies,
                                                        int64_t ingest_micros) {
  std::vector<StoredAnomaly> rows;
  if (anomalies.empty()) return rows;
  rows.reserve(anomalies.size());
  int64_t seq = last_seq_;
  for (const detect::Anomaly& a : anomalies) {
    rows.push_back(StoredAnomaly{.anomaly_seq = ++seq,
                                 .device_id = a.device,
                                 .event_micros = a.timestamp_micros,
                                 .value = a.value,
                                 .score = a.score,
                                 .detector = std::string(detect::DetectorName(a.detector)),
                                 .kind = std::string(detect::CategoryName(a.category)),
                                 .explanation = a.explanation,
                                 .ingest_micros = ingest_micros});
  }
  Status s = conn_->Execute("BEGIN TRANSACTION");
  if (s.ok()) {
    Result<std::unique_ptr<Appender>> app = Appender::Open(*conn_, "anomalies");
    s = app.status();
    for (size_t i = 0; s.ok() && i < rows.size(); ++i) {
      const StoredAnomaly& r = rows[i];
      Appender& w = **app;
      s = w.NextRow();
      if (!s.ok()) break;
      w.Value(0, r.anomaly_seq);
      w.String(1, r.device_id);
      w.Value(2, duckdb_timestamp{r.event_micros});
      w.Value(3, r.value);
      w.Value(4, r.score);
      w.String(5, r.detector);
      w.String(6, r.kind);
      w.String(7, r.explanation);
      w.Value(8, duckdb_timestamp{r.ingest_micros});
    }
    if (s.ok()) s = (*app)->Flush();
  }
  if (s.ok()) s = conn_->Execute("COMMIT");
  if (!s.ok()) {
    (void)conn_->Execute("ROLLBACK");
    return s.WithPrefix("store: appending anomalies: ");
  }
  last_seq_ = seq;
  return rows;
}

Result<std::vector<StoredAnomaly>> ReadAnomalies(Connection& conn, const AnomalyFilter& filter) {
  std::string where = fmt::format("anomaly_seq > {}", filter.after);
  if (!filter.device_id.empty()) where += " AND device_id = " + SqlString(filter.device_id);
  if (filter.min_score > 0) where += fmt::format(" AND score >= {}", filter.min_score);
  Result<QueryResult> r = conn.Query(
      fmt::format("SELECT anomaly_seq, device_id, epoch_us(event_time), value, score, detector, "
                  "kind, explanation, epoch_us(ingest_time) FROM anomalies WHERE {} "
                  "ORDER BY anomaly_seq LIMIT {}",
                  where, filter.limit));
  if (!r.ok()) return r.status();
  Result<RowCursor> rows =
      RowCursor::Open(*r, {DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_BIGINT,
                           DUCKDB_TYPE_DOUBLE, DUCKDB_TYPE_DOUBLE, DUCKDB_TYPE_VARCHAR,
                           DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_BIGINT});
  if (!rows.ok()) return rows.status();
  std::vector<StoredAnomaly> out;
  while (rows->Next()) {
    out.push_back(StoredAnomaly{.anomaly_seq = rows->Int64(0),
                                .device_id = std::string(rows->Text(1)),
                                .event_micros = rows->Int64(2),
                                .value = rows->Double(3),
                                .score = rows->Double(4),
                                .detector = std::string(rows->Text(5)),
                                .kind = std::string(rows->Text(6)),
                                .explanation = std::string(rows->Text(7)),
                                .ingest_micros = rows->Int64(8)});
  }
  return out;
}

void WriteAnomalyJson(JsonWriter& w, const StoredAnomaly& a) {
  w.BeginObject();
  w.Key("anomaly_seq");
  w.Int(a.anomaly_seq);
  w.Key("device_id");
  w.String(a.device_id);
  w.Key("event_time");
  w.Timestamp(a.event_micros);
  w.Key("value");
  w.Double(a.value);
  w.Key("score");
  w.Double(a.score);
  w.Key("detector");
  w.String(a.detector);
  w.Key("kind");
  w.String(a.kind);
  w.Key("explanation");
  w.String(a.explanation);
  w.Key("ingest_time");
  w.Timestamp(a.ingest_micros);
  w.EndObject();
}

}  // namespace dcmon::store
