// The facility now, kept up to date as records land (the loader calls Apply() after each commit) so
// that reading it costs no query: latest value per device, power and PUE from the utility and IT
// meters (instantaneous, and from energy over the last hour and day), cooling power and its share,
// rack inlets against the ASHRAE envelope (recommended / allowable, RCI_HI), the hottest inlets,
// and stale sensors. Publish() renders the summary JSON once; readers share that string. Latest()
// renders the newest value of every device with its placement (the dashboard's floor plan).
// Thread-safe: Apply/Publish on one thread (the loader's), Summary(), Gauges() and Latest() from
// any.
//
//   LiveState state({});
//   state.Apply(records);                  // after each commit
//   state.Publish(now_micros);             // after Apply, and every few seconds for staleness
//   std::shared_ptr<const std::string> json = state.Summary();
//   std::string plan = state.Latest("room-1", now_micros);  // "" for every room
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/json_writer.h"
#include "core/record.h"
#include "core/status.h"

namespace dcmon::analytics {

struct LiveStateOptions {
  std::string ashrae_class = "A1";  // envelope for the inlet counts: A1..A4 or H1 (DOMAIN.md)
  std::string facility_meter = "meter_facility";  // device id of the utility intake meter
  std::string it_meter = "meter_it";              // device id of the IT (UPS output) meter
  int64_t stale_after_micros = 300'000'000;       // a device silent this long is stale
  int hottest = 10;                               // inlets listed in `hottest_inlets`
  Status Validate() const;
};
// [analytics] ashrae_class, stale_after_s (docs/configuration.md).
Result<LiveStateOptions> LiveStateOptionsFrom(const Config& config);

// An ASHRAE TC 9.9 class: recommended and allowable dry-bulb range at the inlet, in °C.
struct Envelope {
  double recommended_low, recommended_high, allowable_low, allowable_high;
};
// Nullptr for an unknown class name.
const Envelope* FindEnvelope(std::string_view ashrae_class);

// A KPI in JSON: rounded to 3 decimals; null when not finite (unknown).
void NumberOrNull(JsonWriter& w, double v);

class LiveState {
 public:
  explicit LiveState(LiveStateOptions options);

  void Apply(const std::vector<Record>& records);
  void Publish(int64_t now_micros);
  std::shared_ptr<const std::string> Summary() const;
  // The facility gauges for /metrics: name → value (pue, it_watts, ...); NaN when unknown.
  std::vector<std::pair<std::string, double>> Gauges() const;
  // The newest value of each device in `room` (every device when empty), as JSON: `data` the
  // sensors with room, row, rack, position and measurement; `units` the cooling units with power,
  // fan speed and air temperatures. Renders under the lock Apply() takes for each batch.
  std::string Latest(std::string_view room, int64_t now_micros) const;

  // The facility KPIs as of the newest facility meter sample, for the alert engine's kpi rules:
  // pue (now), pue_hour and pue_day (from energy), cooling_share (now); NaN when unknown. On the
  // loader's thread, after Apply.
  struct FacilityKpis {
    int64_t event_micros = 0;  // the newest facility meter sample; 0 before the first
    double pue = NAN, pue_hour = NAN, pue_day = NAN, cooling_share = NAN;
    std::vector<std::pair<std::string_view, double>> Named() const {
      return {{"pue", pue},
              {"pue_hour", pue_hour},
              {"pue_day", pue_day},
              {"cooling_share", cooling_share}};
    }
  };
  FacilityKpis Kpis() const;

 private:
  struct Last {
    double value = 0;  // a sensor's reading; a cooling unit's power in watts
    int64_t time = 0;
    bool inlet = false;
    std::string room, row, rack, position, measurement;
    // Cooling units only.
    double efficiency_percent = 0;
    std::optional<double> fan_speed_percent, supply_c, return_c;
  };
  struct Meter {
    std::deque<std::pair<int64_t, double>> samples;  // last 24 h, by event time
    double Latest() const { return samples.empty() ? 0 : samples.back().second; }
    double SumSince(int64_t t) const;
  };
  void AddMeter(Meter& m, int64_t t, double v);

  LiveStateOptions options_;
  Envelope envelope_;
  // Written by Apply() under devices_mu_, read by Publish() (same thread) and Latest() (locked).
  mutable std::mutex devices_mu_;
  std::unordered_map<std::string, Last> sensors_;  // by device id
  std::unordered_map<std::string, Last> cooling_;  // by system id: power in watts
  Meter facility_, it_;
  int64_t latest_event_ = 0;
  mutable std::mutex mu_;  // guards the published outputs below
  std::shared_ptr<const std::string> summary_;
  std::vector<std::pair<std::string, double>> gauges_;
};

}  // namespace dcmon::analytics
