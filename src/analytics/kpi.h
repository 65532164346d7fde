// Facility KPIs over any interval, from the store: PUE and DCiE from energy (kWh, never one
// sample), IT, cooling and facility power, cooling share of facility energy, kW per ton, cooling
// capacity factor, energy cost at a flat or time-of-use tariff, inlet statistics per room and rack
// with ASHRAE compliance, RCI_HI and RCI_LO, RTI per CRAH zone, rate-of-change violations and data
// completeness per device. Definitions: ../shared/DOMAIN.md; every formula is in docs/analytics.md.
// Reads the kpi_* views of the schema (store/schema.cc), so analysts' SQL gives the same numbers.
// Stateless functions; a Connection is used by one thread at a time.
//
//   Result<KpiOptions> o = KpiOptionsFrom(config);
//   Result<Kpis> k = ComputeKpis(conn, *o, from_micros, to_micros);
//   std::string json = KpisToJson(*k);   // GET /api/v1/kpis
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/live_state.h"
#include "core/config.h"
#include "core/status.h"
#include "core/topology.h"
#include "store/duckdb.h"

namespace dcmon::analytics {

// An energy tariff: the price per kWh from each UTC time of day until the next one, wrapping at
// midnight (one period is a flat tariff).
struct Tariff {
  struct Period {
    int start_minute = 0;  // of the UTC day, 0 … 1439
    double price_per_kwh = 0;
  };
  std::string currency = "EUR";
  std::vector<Period> periods;  // sorted by start_minute; empty: no tariff, no cost
  // The price in force at `micros` (UTC); 0 without periods.
  double PriceAt(int64_t micros) const;
};
// "0.15" (flat) or "07:00=0.20,23:00=0.11" (time of use, UTC); the error names `key`.
Result<Tariff> ParseTariff(std::string_view text, std::string_view key);

struct KpiOptions {
  LiveStateOptions facility;  // the ASHRAE class and the meter ids, as LiveState's
  Tariff tariff;              // energy price; no periods: cost is null
  std::string chiller_plant =
      "chiller-plant";                       // cooling unit whose heat moved is the tons of cooling
  double crah_capacity_kw = 0;               // rated capacity of one air handler; 0: CCF unknown
  double rate_limit_c = 5;                   // ASHRAE: at most this change …
  int64_t rate_window_micros = 900'000'000;  // … within any window this long (15 min)
  // A device's cadence is read from this much history around `from` and before `to`.
  int64_t cadence_lookback_micros = 3'600'000'000;
  // The CRAH zones for RTI per zone: not a key of its own, the caller sets it (serve and report:
  // the facility of `alert.facility`); a unit without a zone is judged against its room's racks.
  Topology topology;
  Status Validate() const;
};
// [analytics] ashrae_class, stale_after_s (LiveStateOptionsFrom), tariff, tariff_currency,
// chiller_plant, crah_capacity_kw (docs/configuration.md).
Result<KpiOptions> KpiOptionsFrom(const Config& config);

// A NaN is a KPI the data does not give (no IT energy, no tariff…): null in JSON.
struct Kpis {
  struct Inlets {
    std::string room, rack;  // rack empty for a room's row
    int64_t samples = 0;
    double min = 0, mean = 0, max = 0;
    double recommended_share = 0,
           allowable_share = 0;     // of samples; allowable includes recommended
    int64_t worst_hour_micros = 0;  // racks: the hour with the hottest inlet
    double worst_hour_max = 0;
    double worst_hour_recommended_share = 0;
  };
  struct Rti {
    std::string unit, room;
    bool zone = false;  // rack ΔT from the unit's zone; false: from its room's racks
    int64_t racks = 0;  // racks with inlet and exhaust data behind rack_delta_t
    double supply_c = 0, return_c = 0, rack_delta_t = 0, rti = 0;  // rti in %
  };
  struct RateViolation {
    std::string device_id, rack;
    int64_t first_micros = 0;  // end of the first window with a change above the limit
    double max_change_c = 0;
    int64_t samples = 0;  // samples ending such a window
  };
  struct Completeness {
    std::string device_id;
    int64_t cadence_micros = 0, expected = 0, received = 0;
    double ratio = 0;
  };
  struct Hour {
    int64_t hour_micros = 0;
    double facility_kwh = 0, it_kwh = 0, pue = 0;
  };

  int64_t from_micros = 0, to_micros = 0;
  double pue = 0, dcie = 0;
  double it_kw = 0, cooling_kw = 0, facility_kw = 0, cooling_share = 0;
  double kw_per_ton = 0, cooling_capacity_factor = 0;
  double it_kwh = 0, cooling_kwh = 0, facility_kwh = 0;
  std::string currency;
  double cost = 0;
  double rci_hi = 0, rci_lo = 0;
  std::string ashrae_class;
  std::vector<Inlets> rooms, racks;            // by room, rack
  std::vector<Rti> rti;                        // by unit
  std::vector<RateViolation> rate_violations;  // by device
  std::vector<Completeness> completeness;      // lowest ratio first
  std::vector<Hour> hours;                     // PUE trend, by hour
};

// KPIs over [from_micros, to_micros). Store failures come back as the Status.
Result<Kpis> ComputeKpis(store::Connection& conn, const KpiOptions& options, int64_t from_micros,
                         int64_t to_micros);
// The JSON of GET /api/v1/kpis (docs/analytics.md).
std::string KpisToJson(const Kpis& kpis);

}  // namespace dcmon::analytics
