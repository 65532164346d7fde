#include "alert/alert_store.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <map>

namespace dcmon::alert {
namespace {

using store::SqlString;
using store::SqlTimestamp;

std::string OrNull(const std::string& s) { return s.empty() ? "NULL" : SqlString(s); }
std::string TimeOrNull(int64_t micros) { return micros == 0 ? "NULL" : SqlTimestamp(micros); }
std::string SqlDouble(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "'NaN'"; }

// The event time a change happened at: when it began, fired or resolved.
int64_t ChangedAt(const Alert& a) {
  switch (a.state) {
    case AlertState::kPending:
      return a.pending_since_micros;
    case AlertState::kFiring:
      return a.starts_at_micros;
    case AlertState::kResolved:
      return a.ends_at_micros;
  }
  return 0;
}

std::string MatchersJson(const std::vector<Matcher>& matchers) {
  std::string out;
  {
    JsonWriter w(out);
    WriteMatchersJson(matchers, w);
  }
  return out;
}

Result<std::vector<Matcher>> ParseMatchers(std::string_view json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::array arr;
  if (parser.iterate(padded).get(doc) || doc.get_array().get(arr))
    return InvalidArgument("silences.matchers_json: expected an array");
  std::vector<Matcher> out;
  for (auto element : arr) {
    std::string_view name, value;
    bool regex = false;
    simdjson::ondemand::object m;
    if (element.get_object().get(m) || m["name"].get_string().get(name) ||
        m["value"].get_string().get(value) || m["is_regex"].get_bool().get(regex))
      return InvalidArgument("silences.matchers_json: expected {name, value, is_regex}");
    out.push_back({std::string(name), std::string(value), regex});
  }
  return out;
}

}  // namespace

Result<AlertStore> AlertStore::Open(store::Connection& conn) {
  Result<store::QueryResult> r = conn.Query("SELECT coalesce(max(event_seq), 0) FROM alert_events");
  if (!r.ok()) return r.status().WithPrefix("alert store: ");
  return AlertStore(conn, r->Int64(0, 0));
}

Result<std::vector<AlertStatus>> AlertStore::LoadCurrent() {
  Result<store::QueryResult> r = conn_->Query(
      "SELECT id, rule, device, clock, state, severity, category, epoch_us(pending_since), "
      "coalesce(epoch_us(starts_at), 0), value, coalesce(inhibited_by, ''), affected_racks_json, "
      "labels_json, annotations_json, coalesce(acknowledged_by, ''), "
      "coalesce(epoch_us(acknowledged_at), 0) FROM alerts ORDER BY id");
  if (!r.ok()) return r.status().WithPrefix("alert store: reading alerts: ");
  std::vector<AlertStatus> out;
  for (size_t row = 0; row < r->rows(); ++row) {
    auto text = [&](size_t col) { return r->Text(col, row).value_or(""); };
    AlertStatus s;
    s.id = text(0);
    Alert& a = s.alert;
    a.rule = text(1);
    a.device = text(2);
    a.clock = text(3);
    a.state = text(4) == "firing" ? AlertState::kFiring : AlertState::kPending;
    a.severity = text(5);
    a.category = text(6) == "sensor" ? Category::kSensor : Category::kFacility;
    a.pending_since_micros = r->Int64(7, row);
    a.starts_at_micros = r->Int64(8, row);
    a.value = r->Double(9, row);
    a.inhibited_by = text(10);
    Result<std::vector<std::string>> racks = ParseStringList(text(11));
    Result<std::map<std::string, std::string>> labels = ParseStringMap(text(12));
    Result<std::map<std::string, std::string>> annotations = ParseStringMap(text(13));
    for (const Status* st : {&racks.status(), &labels.status(), &annotations.status()}) {
      if (!st->ok()) return st->WithPrefix(fmt::format("alert store: alert {}: ", s.id));
    }
    a.affected_racks = std::move(*racks);
    a.labels = std::move(*labels);
    a.annotations = std::move(*annotations);
    s.acknowledged_by = text(14);
    s.acknowledged_at_micros = r->Int64(15, row);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Silence>> AlertStore::LoadSilences(int64_t now_micros) {
  Result<store::QueryResult> r = conn_->Query(fmt::format(
      "SELECT id, matchers_json, epoch_us(starts_at), epoch_us(ends_at), comment, created_by "
      "FROM silences WHERE ends_at > {} ORDER BY created_at",
      SqlTimestamp(now_micros)));
  if (!r.ok()) return r.status().WithPrefix("alert store: reading silences: ");
  std::vector<Silence> out;
  for (size_t row = 0; row < r->rows(); ++row) {
    const std::string id = r->Text(0, row).value_or("");
    Result<std::vector<Matcher>> matchers = ParseMatchers(r->Text(1, row).value_or(""));
    if (!matchers.ok()) return matchers.status().WithPrefix(fmt::format("silence {}: ", id));
    Result<Silence> s = Silence::Create(std::move(*matchers), r->Int64(2, row), r->Int64(3, row),
                                        r->Text(4, row).value_or(""), r->Text(5, row).value_or(""));
    if (!s.ok()) return s.status().WithPrefix(fmt::format("silence {}: ", id));
    s->id = id;
    out.push_back(std::move(*s));
  }
  return out;
}

Status AlertStore::Record(std::span<const AlertStatus> changes, int64_t now_micros) {
  if (changes.empty()) return Status::Ok();
  // Three statements whatever the number of changes (an alert storm is when this must keep up):
  // the events appended, the changed alerts' current rows deleted, those not resolved inserted
  // again. Only each alert's last change in this call is its current row.
  std::string events, current, resolved;
  std::map<std::string_view, const AlertStatus*> last;
  int64_t seq = last_event_seq_;
  for (const AlertStatus& s : changes) {
    const Alert& a = s.alert;
    auto summary = a.annotations.find("summary");
    fmt::format_to(std::back_inserter(events),
                   "{}({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                   events.empty() ? "" : ",\n", ++seq, SqlString(s.id), SqlString(a.rule),
                   SqlString(a.device), SqlString(AlertStateName(a.state)),
                   SqlTimestamp(ChangedAt(a)), SqlString(a.severity),
                   SqlString(CategoryName(a.category)), SqlDouble(a.value), OrNull(a.inhibited_by),
                   SqlString(StringListJson(a.affected_racks)), SqlString(StringMapJson(a.labels)),
                   summary == a.annotations.end() ? "NULL" : SqlString(summary->second),
                   SqlTimestamp(now_micros));
    last[s.id] = &s;
  }
  for (const auto& [id, s] : last) {
    const Alert& a = s->alert;
    // Every change's current row goes (a resolved alert's for good, the others to be replaced).
    fmt::format_to(std::back_inserter(resolved), "{}{}", resolved.empty() ? "" : ", ",
                   SqlString(s->id));
    if (a.state == AlertState::kResolved) continue;
    fmt::format_to(std::back_inserter(current),
                   "{}({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                   current.empty() ? "" : ",\n", SqlString(s->id), SqlString(a.rule),
                   SqlString(a.device), SqlString(a.clock), SqlString(AlertStateName(a.state)),
                   SqlString(a.severity), SqlString(CategoryName(a.category)),
                   SqlTimestamp(a.pending_since_micros), TimeOrNull(a.starts_at_micros),
                   SqlDouble(a.value), OrNull(a.inhibited_by),
                   SqlString(StringListJson(a.affected_racks)), SqlString(StringMapJson(a.labels)),
                   SqlString(StringMapJson(a.annotations)), OrNull(s->acknowledged_by),
                   TimeOrNull(s->acknowledged_at_micros));
  }
  std::string sql = "BEGIN TRANSACTION;\nINSERT INTO alert_events VALUES " + events + ";\n" +
                    "DELETE FROM alerts WHERE id IN (" + resolved + ");\n";
  if (!current.empty()) sql += "INSERT INTO alerts VALUES " + current + ";\n";
  sql += "COMMIT;";
  if (Status st = conn_->Execute(sql); !st.ok()) {
    (void)conn_->Execute("ROLLBACK");
    return st.WithPrefix("alert store: recording alert events: ");
  }
  last_event_seq_ = seq;
  return Status::Ok();
}

Status AlertStore::SaveAcknowledgement(const AlertStatus& s) {
  Status st = conn_->Execute(fmt::format(
      "UPDATE alerts SET acknowledged_by = {}, acknowledged_at = {} WHERE id = {}",
      OrNull(s.acknowledged_by), TimeOrNull(s.acknowledged_at_micros), SqlString(s.id)));
  return st.ok() ? st : st.WithPrefix("alert store: acknowledging: ");
}

Status AlertStore::ExpireSilence(const Silence& s) {
  Status st = conn_->Execute(fmt::format("UPDATE silences SET ends_at = {} WHERE id = {}",
                                         SqlTimestamp(s.ends_at_micros()), SqlString(s.id)));
  return st.ok() ? st : st.WithPrefix("alert store: expiring a silence: ");
}

Status AlertStore::SaveSilence(const Silence& s, int64_t now_micros) {
  Status st = conn_->Execute(fmt::format("INSERT INTO silences VALUES ({}, {}, {}, {}, {}, {}, {})",
                                         SqlString(s.id), SqlString(MatchersJson(s.matchers())),
                                         SqlTimestamp(s.starts_at_micros()),
                                         SqlTimestamp(s.ends_at_micros()), SqlString(s.comment()),
                                         SqlString(s.created_by()), SqlTimestamp(now_micros)));
  return st.ok() ? st : st.WithPrefix("alert store: saving a silence: ");
}

}  // namespace dcmon::alert
