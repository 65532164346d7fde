// The detectors' anomalies in the store: the `anomalies` table (schema.cc, docs/store.md), written
// by the loader thread after each commit and read in pages on `anomaly_seq` by
// GET /api/v1/anomalies. Only what the online detector keeps is written (detect::OnlineOptions:
// at or above its min_score, one anomaly per incident), so the table grows with incidents, not with
// samples. AnomalyStore: one thread, its own connection.
//
//   auto store = *AnomalyStore::Open(db);
//   Result<std::vector<StoredAnomaly>> rows = store->Append(anomalies, NowMicros());
//   Result<std::vector<StoredAnomaly>> page = ReadAnomalies(conn, {.after = 0, .limit = 100});
//   JsonWriter w(out); WriteAnomalyJson(w, (*page)[0]);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/json_writer.h"
#include "core/status.h"
#include "detect/anomaly.h"
#include "store/duckdb.h"

namespace dcmon::store {

struct StoredAnomaly {
  int64_t anomaly_seq = 0;  // the paging cursor: increases with every stored anomaly
  std::string device_id;    // the device blamed
  int64_t event_micros = 0;
  double value = 0;
  double score = 0;
  std::string detector;  // detect::DetectorName
  std::string kind;      // detect::CategoryName: "facility" or "sensor"
  std::string explanation;
  int64_t ingest_micros = 0;  // when it was stored
};

class AnomalyStore {
 public:
  // Migrates the database first (schema.h), so it may open before the loader's writer.
  static Result<std::unique_ptr<AnomalyStore>> Open(Database& db);
  // Appends in one transaction, numbering them after the newest stored anomaly_seq.
  Result<std::vector<StoredAnomaly>> Append(std::span<const detect::Anomaly> anomalies,
                                            int64_t ingest_micros);

 private:
  AnomalyStore(std::unique_ptr<Connection> conn, int64_t last_seq)
      : conn_(std::move(conn)), last_seq_(last_seq) {}
  std::unique_ptr<Connection> conn_;
  int64_t last_seq_;
};

struct AnomalyFilter {
  int64_t after = 0;      // anomaly_seq strictly above this
  int64_t limit = 1000;   // at most this many
  std::string device_id;  // empty: every device
  double min_score = 0;   // at or above
};

// A page in anomaly_seq order.
Result<std::vector<StoredAnomaly>> ReadAnomalies(Connection& conn, const AnomalyFilter& filter);

// The record of GET /api/v1/anomalies and of the stream's `anomaly` event (flat, Airbyte-ready).
void WriteAnomalyJson(JsonWriter& w, const StoredAnomaly& a);

}  // namespace dcmon::store
