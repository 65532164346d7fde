// An alert as dcmon shows it to the outside (GET /api/v1/alerts, the `alert` SSE event, the
// webhook notifier): the engine's Alert plus its id and what the operator did (silence, ack). One
// encoder, so the three say the same thing (docs/alerting.md, docs/openapi.json `Alert`).
//
//   AlertStatus s{.alert = a, .id = AlertId(a)};
//   std::string json; { JsonWriter w(json); WriteAlertJson(s, w); }
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alert/engine.h"
#include "core/json_writer.h"
#include "core/status.h"

namespace dcmon::alert {

struct AlertStatus {
  Alert alert;
  std::string id;               // AlertId(alert)
  std::string zone_unit;        // the CRAH unit whose zone holds the device (or the unit itself)
  std::string silenced_by;      // the id of a silence that matches it now; empty: not silenced
  std::string acknowledged_by;  // who acknowledged it (POST /api/v1/alerts/{id}/ack)
  int64_t acknowledged_at_micros = 0;
};

// "rule/device", and "/clock" for staleness rules: stable across restarts.
std::string AlertId(const Alert& alert);

// {"id","rule","device","state","severity","category","pending_since","starts_at","ends_at",
//  "value","inhibited_by","affected_racks","room","zone_unit","labels","annotations",
//  "silenced_by","acknowledged_by"}; unset times and empty strings are null.
void WriteAlertJson(const AlertStatus& status, JsonWriter& w);
std::string AlertJson(const AlertStatus& status);

// JSON text of labels and annotations, and of a rack list, as the store keeps them.
std::string StringMapJson(const std::map<std::string, std::string>& map);
std::string StringListJson(const std::vector<std::string>& list);
Result<std::map<std::string, std::string>> ParseStringMap(std::string_view json);
Result<std::vector<std::string>> ParseStringList(std::string_view json);

}  // namespace dcmon::alert
