// Alert persistence in the store (tables `alerts`, `alert_events`, `silences`; docs/store.md):
// the current state, restored on restart; the history of every state change, paged on
// `event_seq`; the silences. The store component knows tables, not alerts, so the row mapping
// lives here. Over one connection: use it from one thread (the alert runtime's).
//
//   AlertStore st(conn);
//   std::vector<AlertStatus> current = *st.LoadCurrent();
//   Status s = st.Record(changes, now);   // appends events, upserts or removes the current rows
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "alert/alert_json.h"
#include "alert/silence.h"
#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::alert {

class AlertStore {
 public:
  // Reads the newest event_seq, so that the history continues after it.
  static Result<AlertStore> Open(store::Connection& conn);

  // The pending and firing alerts as stored, with their acknowledgements.
  Result<std::vector<AlertStatus>> LoadCurrent();
  // Silences that have not ended by `now`.
  Result<std::vector<Silence>> LoadSilences(int64_t now_micros);

  // In one transaction: one alert_events row per change (the state each entered), and `alerts`
  // upserted (pending, firing) or the row removed (resolved).
  Status Record(std::span<const AlertStatus> changes, int64_t now_micros);
  Status SaveAcknowledgement(const AlertStatus& status);
  Status SaveSilence(const Silence& silence, int64_t now_micros);
  Status ExpireSilence(const Silence& silence);  // writes its (new) ends_at

  int64_t last_event_seq() const { return last_event_seq_; }

 private:
  AlertStore(store::Connection& conn, int64_t last) : conn_(&conn), last_event_seq_(last) {}
  store::Connection* conn_;
  int64_t last_event_seq_;
};

}  // namespace dcmon::alert
