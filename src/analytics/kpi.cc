#include "analytics/kpi.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "core/json_writer.h"
#include "store/schema.h"

namespace dcmon::analytics {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr double kKwPerTon = 3.517;  // one ton of refrigeration (DOMAIN.md: kW/ton = 3.517 / COP)
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double Ratio(double a, double b) { return a > 0 && b > 0 ? a / b : kNan; }

int64_t FloorTo(int64_t t, int64_t step) { return t - ((t % step) + step) % step; }
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b > 0 ? 1 : 0); }

// The seconds of [minute, minute + 1 min) inside [from, to).
double OverlapSeconds(int64_t minute, int64_t from, int64_t to) {
  const int64_t d = std::min(minute + kMinute, to) - std::max(minute, from);
  return d > 0 ? static_cast<double>(d) / kSecond : 0;
}

Result<double> ParsePrice(std::string_view text, std::string_view key) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0) {
    return InvalidArgument(fmt::format("{}: expected a price per kWh ≥ 0, got \"{}\"", key, text));
  }
  return v;
}

struct Unit {
  std::string room;
  double ws = 0, covered_s = 0;  // energy (W·s) and the seconds with data
  double heat_ws = 0, heat_s = 0;
  double running_s = 0;
  double supply_sum = 0, return_sum = 0, air_s = 0;
};

}  // namespace

double Tariff::PriceAt(int64_t micros) const {
  if (periods.empty()) return 0;
  const int minute = static_cast<int>((micros - FloorTo(micros, kDay)) / kMinute);
  // Before the first start of the day, the last period of the previous day still holds.
  double price = periods.back().price_per_kwh;
  for (const Period& p : periods) {
    if (p.start_minute > minute) break;
    price = p.price_per_kwh;
  }
  return price;
}

Result<Tariff> ParseTariff(std::string_view text, std::string_view key) {
  Tariff t;
  if (text.empty()) return t;
  if (text.find('=') == std::string_view::npos) {
    Result<double> price = ParsePrice(text, key);
    if (!price.ok()) return price.status();
    t.periods.push_back({0, *price});
    return t;
  }
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t eq = item.find('=');
    const std::string_view at = item.substr(0, eq);
    int h = -1, m = -1;
    if (eq == std::string_view::npos || at.size() != 5 || at[2] != ':' ||
        std::from_chars(at.data(), at.data() + 2, h).ptr != at.data() + 2 ||
        std::from_chars(at.data() + 3, at.data() + 5, m).ptr != at.data() + 5 || h > 23 || m > 59) {
      return InvalidArgument(
          fmt::format("{}: expected HH:MM=price entries like \"07:00=0.20,23:00=0.11\", got \"{}\"",
                      key, item));
    }
    Result<double> price = ParsePrice(item.substr(eq + 1), key);
    if (!price.ok()) return price.status();
    t.periods.push_back({h * 60 + m, *price});
  }
  std::sort(t.periods.begin(), t.periods.end(),
            [](const auto& a, const auto& b) { return a.start_minute < b.start_minute; });
  for (size_t i = 1; i < t.periods.size(); ++i) {
    if (t.periods[i].start_minute == t.periods[i - 1].start_minute)
      return InvalidArgument(fmt::format("{}: a time of day is given twice", key));
  }
  return t;
}

Status KpiOptions::Validate() const {
  if (Status s = facility.Validate(); !s.ok()) return s;
  if (!(crah_capacity_kw >= 0))
    return InvalidArgument("analytics.crah_capacity_kw: expected a number of kW ≥ 0");
  if (!(rate_limit_c > 0)) return InvalidArgument("analytics: rate_limit_c must be positive");
  if (rate_window_micros < kSecond || rate_window_micros % kSecond != 0)
    return InvalidArgument("analytics: rate_window must be a whole number of seconds");
  if (cadence_lookback_micros < 0)
    return InvalidArgument("analytics: cadence_lookback must not be negative");
  return Status::Ok();
}

Result<KpiOptions> KpiOptionsFrom(const Config& c) {
  KpiOptions o;
  Result<LiveStateOptions> facility = LiveStateOptionsFrom(c);
  if (!facility.ok()) return facility.status();
  o.facility = std::move(*facility);
  Result<Tariff> tariff = ParseTariff(c.Get("analytics.tariff").value_or(""), "analytics.tariff");
  if (!tariff.ok()) return tariff.status();
  o.tariff = std::move(*tariff);
  o.tariff.currency = c.Get("analytics.tariff_currency").value_or(o.tariff.currency);
  o.chiller_plant = c.Get("analytics.chiller_plant").value_or(o.chiller_plant);
  Result<double> capacity =
      c.GetDouble("analytics.crah_capacity_kw", o.crah_capacity_kw, 0, 100'000);
  if (!capacity.ok()) return capacity.status();
  o.crah_capacity_kw = *capacity;
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

Result<Kpis> ComputeKpis(store::Connection& conn, const KpiOptions& o, int64_t from, int64_t to) {
  if (from >= to) return InvalidArgument("from: must be before to");
  if (Status s = o.Validate(); !s.ok()) return s;
  const Envelope& env = *FindEnvelope(o.facility.ashrae_class);
  Kpis k;
  k.from_micros = from;
  k.to_micros = to;
  k.ashrae_class = o.facility.ashrae_class;
  k.currency = o.tariff.currency;
  const std::string from_ts = store::SqlTimestamp(from), to_ts = store::SqlTimestamp(to);
  const std::string minutes = fmt::format("minute >= {} AND minute < {}",
                                          store::SqlTimestamp(FloorTo(from, kMinute)), to_ts);
  // The same minutes of the views on rollups_1m, through their dcmon_ twins' epoch_minute, which
  // reaches rollup_facts' zone maps (store/schema.h).
  const std::string rollup_minutes = store::RollupMinutes(FloorTo(from, kMinute), to);

  // Energy: each minute's mean power over the part of the minute inside the interval.
  Result<store::QueryResult> meters = conn.Query(fmt::format(
      "SELECT device_id = {}, epoch_us(minute), watts FROM dcmon_kpi_power_1m WHERE device_id IN "
      "({}, {}) AND {} ORDER BY minute",
      store::SqlString(o.facility.facility_meter), store::SqlString(o.facility.facility_meter),
      store::SqlString(o.facility.it_meter), rollup_minutes));
  if (!meters.ok()) return meters.status();
  double facility_ws = 0, facility_s = 0, it_ws = 0, it_s = 0, cost = 0;
  // The energy of each meter per minute: PUE compares only minutes both meters cover, so a gap in
  // one meter (or one stored further than the other) does not skew the ratio.
  std::map<int64_t, std::pair<double, double>> both;  // minute → (facility, IT) W·s
  std::map<int64_t, Kpis::Hour> hours;
  for (size_t r = 0; r < meters->rows(); ++r) {
    const bool facility = meters->Int64(0, r) != 0;
    const int64_t minute = meters->Int64(1, r);
    const double overlap = OverlapSeconds(minute, from, to);
    const double ws = meters->Double(2, r) * overlap;
    Kpis::Hour& h = hours[FloorTo(minute, kHour)];
    auto [at, fresh] = both.try_emplace(minute, kNan, kNan);
    if (facility) {
      facility_ws += ws;
      facility_s += overlap;
      h.facility_kwh += ws / 3.6e6;
      at->second.first = ws;
      cost += ws / 3.6e6 * o.tariff.PriceAt(std::max(minute, from));
    } else {
      it_ws += ws;
      it_s += overlap;
      h.it_kwh += ws / 3.6e6;
      at->second.second = ws;
    }
  }
  double common_facility = 0, common_it = 0;
  std::map<int64_t, std::pair<double, double>> common_hours;
  for (const auto& [minute, e] : both) {
    if (std::isnan(e.first) || std::isnan(e.second)) continue;
    common_facility += e.first;
    common_it += e.second;
    auto& h = common_hours[FloorTo(minute, kHour)];
    h.first += e.first;
    h.second += e.second;
  }
  for (auto& [t, h] : hours) {
    h.hour_micros = t;
    const auto c = common_hours.find(t);
    h.pue = c == common_hours.end() ? kNan : Ratio(c->second.first, c->second.second);
    k.hours.push_back(h);
  }
  k.facility_kwh = facility_ws / 3.6e6;
  k.it_kwh = it_ws / 3.6e6;
  k.facility_kw = facility_s > 0 ? facility_ws / facility_s / 1000 : kNan;
  k.it_kw = it_s > 0 ? it_ws / it_s / 1000 : kNan;
  k.pue = Ratio(common_facility, common_it);
  k.dcie = std::isfinite(k.pue) ? 1 / k.pue : kNan;
  k.cost = o.tariff.periods.empty() || facility_s == 0 ? kNan : cost;

  // Cooling units.
  Result<store::QueryResult> cooling = conn.Query(fmt::format(
      "SELECT system_id, coalesce(room, ''), epoch_us(minute), watts, heat_watts, supply_c, "
      "return_c, running_share FROM kpi_cooling_1m WHERE {}",
      minutes));
  if (!cooling.ok()) return cooling.status();
  std::map<std::string, Unit> units;
  for (size_t r = 0; r < cooling->rows(); ++r) {
    Unit& u = units[*cooling->Text(0, r)];
    u.room = *cooling->Text(1, r);
    const double overlap = OverlapSeconds(cooling->Int64(2, r), from, to);
    u.ws += cooling->Double(3, r) * overlap;
    u.covered_s += overlap;
    if (!cooling->IsNull(4, r)) {
      u.heat_ws += cooling->Double(4, r) * overlap;
      u.heat_s += overlap;
    }
    if (!cooling->IsNull(5, r) && !cooling->IsNull(6, r)) {
      u.supply_sum += cooling->Double(5, r) * overlap;
      u.return_sum += cooling->Double(6, r) * overlap;
      u.air_s += overlap;
    }
    u.running_s += cooling->Double(7, r) * overlap;
  }
  double cooling_w = 0, cooling_ws = 0, running_units = 0;
  for (const auto& [id, u] : units) {
    if (u.covered_s == 0) continue;
    cooling_w += u.ws / u.covered_s;
    cooling_ws += u.ws;
    if (id != o.chiller_plant) running_units += u.running_s / u.covered_s;
  }
  k.cooling_kw = units.empty() ? kNan : cooling_w / 1000;
  k.cooling_kwh = cooling_ws / 3.6e6;
  // Mean powers, each over the time it was reported: the energy ratio when both cover the interval,
  // and not skewed when one has gaps (or is stored further than the other).
  k.cooling_share = Ratio(k.cooling_kw, k.facility_kw);
  const auto plant = units.find(o.chiller_plant);
  const double tons = plant != units.end() && plant->second.heat_s > 0
                          ? plant->second.heat_ws / plant->second.heat_s / 1000 / kKwPerTon
                          : kNan;
  k.kw_per_ton = Ratio(k.cooling_kw, tons);
  k.cooling_capacity_factor =
      o.crah_capacity_kw > 0 ? Ratio(running_units * o.crah_capacity_kw, 1.1 * k.it_kw) : kNan;

  // RTI per air handler against the rack ΔT of its zone's racks (Topology), or of its room's when
  // the unit has no zone: the mean over rack-minutes of (mean exhaust − mean inlet).
  Result<store::QueryResult> delta_t = conn.Query(fmt::format(
      "SELECT coalesce(room, ''), rack, sum(exhaust_c - inlet_c), count(*) FROM "
      "dcmon_kpi_rack_temps_1m WHERE {} AND inlet_c IS NOT NULL AND exhaust_c IS NOT NULL GROUP BY "
      "ALL",
      rollup_minutes));
  if (!delta_t.ok()) return delta_t.status();
  struct DeltaT {
    double sum = 0;
    int64_t minutes = 0, racks = 0;
    void Add(double s, int64_t n) {
      sum += s;
      minutes += n;
      ++racks;
    }
  };
  std::map<std::string, DeltaT> room_delta_t, rack_delta_t;  // rack_delta_t by RackKey
  for (size_t r = 0; r < delta_t->rows(); ++r) {
    const double sum = delta_t->Double(2, r);
    const int64_t n = delta_t->Int64(3, r);
    const std::string room = *delta_t->Text(0, r);
    room_delta_t[room].Add(sum, n);
    rack_delta_t[RackKey(room, *delta_t->Text(1, r))].Add(sum, n);
  }
  std::map<std::string, std::pair<const Topology::Zone*, DeltaT>> zones;  // unit → zone, its ΔT
  for (const Topology::Zone& z : o.topology.zones) {
    auto& [zone, dt] = zones[z.crah];
    zone = &z;
    for (const std::string& rack : z.racks) {
      const auto at = rack_delta_t.find(RackKey(z.room, rack));
      if (at != rack_delta_t.end()) dt.Add(at->second.sum, at->second.minutes);
    }
  }
  for (const auto& [id, u] : units) {
    if (id == o.chiller_plant || u.air_s == 0) continue;
    const auto zone = zones.find(id);
    const auto room = room_delta_t.find(u.room);
    const DeltaT* dt = zone != zones.end()          ? &zone->second.second
                       : room != room_delta_t.end() ? &room->second
                                                    : nullptr;
    if (dt == nullptr || dt->minutes == 0) continue;
    Kpis::Rti rti{.unit = id,
                  .room = zone != zones.end() ? zone->second.first->room : u.room,
                  .zone = zone != zones.end(),
                  .racks = dt->racks,
                  .supply_c = u.supply_sum / u.air_s,
                  .return_c = u.return_sum / u.air_s,
                  .rack_delta_t = dt->sum / dt->minutes};
    rti.rti = rti.rack_delta_t > 0 ? (rti.return_c - rti.supply_c) / rti.rack_delta_t * 100 : kNan;
    k.rti.push_back(rti);
  }

  // Inlets per rack, with each rack's hottest hour; rooms and RCI from the same sums.
  Result<store::QueryResult> inlets = conn.Query(fmt::format(
      "WITH h AS (SELECT coalesce(room, '') AS room, coalesce(rack, device_id) AS rack, "
      "epoch_us(event_time) // {0} * {0} AS hour, count(*) AS n, min(value) AS lo, "
      "sum(value) AS total, max(value) AS hi, "
      "count(*) FILTER (WHERE value BETWEEN {1} AND {2}) AS rec, "
      "count(*) FILTER (WHERE value BETWEEN {3} AND {4}) AS alw, "
      "sum(greatest(value - {2}, 0)) AS over_hi, sum(greatest({1} - value, 0)) AS under_lo "
      "FROM kpi_inlets WHERE event_time >= {5} AND event_time < {6} GROUP BY ALL) "
      "SELECT room, rack, sum(n)::BIGINT, min(lo), sum(total), max(hi), sum(rec)::BIGINT, "
      "sum(alw)::BIGINT, arg_max(hour, hi), arg_max(rec / n, hi), sum(over_hi), sum(under_lo) "
      "FROM h GROUP BY room, rack ORDER BY room, rack",
      kHour, env.recommended_low, env.recommended_high, env.allowable_low, env.allowable_high,
      from_ts, to_ts));
  if (!inlets.ok()) return inlets.status();
  int64_t n_all = 0;
  double over_hi = 0, under_lo = 0;
  std::map<std::string, std::pair<Kpis::Inlets, double>> rooms;  // room → (stats, Σ value)
  for (size_t r = 0; r < inlets->rows(); ++r) {
    const int64_t n = inlets->Int64(2, r);
    const double sum = inlets->Double(4, r);
    const int64_t rec = inlets->Int64(6, r), alw = inlets->Int64(7, r);
    Kpis::Inlets rack{.room = *inlets->Text(0, r),
                      .rack = *inlets->Text(1, r),
                      .samples = n,
                      .min = inlets->Double(3, r),
                      .mean = sum / n,
                      .max = inlets->Double(5, r),
                      .recommended_share = static_cast<double>(rec) / n,
                      .allowable_share = static_cast<double>(alw) / n,
                      .worst_hour_micros = inlets->Int64(8, r),
                      .worst_hour_max = inlets->Double(5, r),
                      .worst_hour_recommended_share = inlets->Double(9, r)};
    auto [it, fresh] = rooms.try_emplace(rack.room, rack, 0.0);
    Kpis::Inlets& room = it->second.first;
    if (fresh) {
      room.rack.clear();
      room.samples = 0;
      room.recommended_share = room.allowable_share = 0;
    }
    room.min = std::min(room.min, rack.min);
    room.max = std::max(room.max, rack.max);
    room.samples += n;
    room.recommended_share += rec;  // counts until divided below
    room.allowable_share += alw;
    it->second.second += sum;
    n_all += n;
    over_hi += inlets->Double(10, r);
    under_lo += inlets->Double(11, r);
    k.racks.push_back(std::move(rack));
  }
  for (auto& [name, stats] : rooms) {
    Kpis::Inlets room = stats.first;
    room.mean = stats.second / room.samples;
    room.recommended_share /= room.samples;
    room.allowable_share /= room.samples;
    room.worst_hour_micros = 0;
    room.worst_hour_max = room.worst_hour_recommended_share = 0;
    k.rooms.push_back(std::move(room));
  }
  // RCI (DOMAIN.md) over every inlet sample of the interval.
  k.rci_hi =
      n_all ? (1 - over_hi / (n_all * (env.allowable_high - env.recommended_high))) * 100 : kNan;
  k.rci_lo =
      n_all ? (1 - under_lo / (n_all * (env.recommended_low - env.allowable_low))) * 100 : kNan;

  // Rate of change: the spread of each inlet's samples within every window ending in the interval.
  // Only a sensor whose spread over the whole range is above the limit can have such a window: the
  // windowed pass runs on those alone (typically none), not on every inlet row.
  Result<store::QueryResult> rates = conn.Query(fmt::format(
      "WITH c AS (SELECT device_id FROM kpi_inlets WHERE event_time >= {0} AND event_time < {1} "
      "GROUP BY device_id HAVING max(value) - min(value) > {4}), "
      "w AS (SELECT device_id, coalesce(rack, device_id) AS rack, event_time, "
      "max(value) OVER win - min(value) OVER win AS change FROM kpi_inlets "
      "WHERE device_id IN (SELECT device_id FROM c) AND event_time >= {0} AND event_time < {1} "
      "WINDOW win AS (PARTITION BY device_id ORDER BY event_time "
      "RANGE BETWEEN INTERVAL {2} SECONDS PRECEDING AND CURRENT ROW)) "
      "SELECT device_id, any_value(rack), epoch_us(min(event_time)), max(change), count(*) "
      "FROM w WHERE event_time >= {3} AND change > {4} GROUP BY device_id ORDER BY device_id",
      store::SqlTimestamp(from - o.rate_window_micros), to_ts, o.rate_window_micros / kSecond,
      from_ts, o.rate_limit_c));
  if (!rates.ok()) return rates.status();
  for (size_t r = 0; r < rates->rows(); ++r) {
    k.rate_violations.push_back({.device_id = *rates->Text(0, r),
                                 .rack = *rates->Text(1, r),
                                 .first_micros = rates->Int64(2, r),
                                 .max_change_c = rates->Double(3, r),
                                 .samples = rates->Int64(4, r)});
  }

  // Completeness: a device's cadence is its median gap between samples, read from the samples
  // around `from` and before `to` (a bounded sort, whatever the interval's length); it owes one
  // sample per cadence from `from` (or its first sample) to `to`, and received its distinct sample
  // times.
  const int64_t l = o.cadence_lookback_micros;
  const std::string near = fmt::format(
      "((event_time >= {} AND event_time < {}) OR event_time >= {}) AND event_time < {}",
      store::SqlTimestamp(from - l), store::SqlTimestamp(std::min(from + l, to)),
      store::SqlTimestamp(std::max(to - l, from)), to_ts);
  const std::string inside = fmt::format("event_time >= {} AND event_time < {}", from_ts, to_ts);
  Result<store::QueryResult> complete = conn.Query(fmt::format(
      "WITH s AS (SELECT DISTINCT device_id, epoch_us(event_time) AS t FROM ("
      "SELECT device_id, event_time FROM sensor_readings WHERE {0} UNION ALL "
      "SELECT system_id, event_time FROM cooling_metrics WHERE {0})), "
      "g AS (SELECT device_id, t - lag(t) OVER (PARTITION BY device_id ORDER BY t) AS gap FROM s), "
      "cadence AS (SELECT device_id, quantile_disc(gap, 0.5) AS gap FROM g GROUP BY device_id "
      "HAVING count(gap) > 0), "
      "got AS (SELECT device_id, count(DISTINCT event_time) AS n FROM ("
      "SELECT device_id, event_time FROM sensor_readings WHERE {1} UNION ALL "
      "SELECT system_id, event_time FROM cooling_metrics WHERE {1}) GROUP BY device_id) "
      "SELECT c.device_id, c.gap, coalesce(got.n, 0), coalesce(epoch_us(d.first_seen), {2}) "
      "FROM cadence c LEFT JOIN got USING (device_id) LEFT JOIN devices d USING (device_id)",
      near, inside, from));
  if (!complete.ok()) return complete.status();
  for (size_t r = 0; r < complete->rows(); ++r) {
    const int64_t cadence = complete->Int64(1, r);
    const int64_t start = std::max(from, complete->Int64(3, r));
    if (cadence <= 0 || start >= to) continue;
    Kpis::Completeness c{.device_id = *complete->Text(0, r),
                         .cadence_micros = cadence,
                         .expected = CeilDiv(to, cadence) - CeilDiv(start, cadence),
                         .received = complete->Int64(2, r)};
    if (c.expected <= 0) continue;
    c.ratio = static_cast<double>(c.received) / c.expected;
    k.completeness.push_back(std::move(c));
  }
  std::sort(k.completeness.begin(), k.completeness.end(), [](const auto& a, const auto& b) {
    return a.ratio != b.ratio ? a.ratio < b.ratio : a.device_id < b.device_id;
  });
  return k;
}

std::string KpisToJson(const Kpis& k) {
  std::string out;
  {  // the writer finishes the string when it goes out of scope
    JsonWriter w(out);
    auto inlets = [&w](const Kpis::Inlets& i, bool rack) {
      w.BeginObject();
      if (rack) {
        w.Key("rack");
        w.String(i.rack);
      }
      w.Key("room");
      w.String(i.room);
      w.Key("samples");
      w.Int(i.samples);
      w.Key("inlet_min");
      NumberOrNull(w, i.min);
      w.Key("inlet_mean");
      NumberOrNull(w, i.mean);
      w.Key("inlet_max");
      NumberOrNull(w, i.max);
      w.Key("recommended_share");
      NumberOrNull(w, i.recommended_share);
      w.Key("allowable_share");
      NumberOrNull(w, i.allowable_share);
      if (rack) {
        w.Key("worst_hour");
        w.Timestamp(i.worst_hour_micros);
        w.Key("worst_hour_max");
        NumberOrNull(w, i.worst_hour_max);
        w.Key("worst_hour_recommended_share");
        NumberOrNull(w, i.worst_hour_recommended_share);
      }
      w.EndObject();
    };
    w.BeginObject();
    w.Key("from");
    w.Timestamp(k.from_micros);
    w.Key("to");
    w.Timestamp(k.to_micros);
    w.Key("ashrae_class");
    w.String(k.ashrae_class);
    w.Key("pue");
    NumberOrNull(w, k.pue);
    w.Key("dcie");
    NumberOrNull(w, k.dcie);
    w.Key("it_kw");
    NumberOrNull(w, k.it_kw);
    w.Key("cooling_kw");
    NumberOrNull(w, k.cooling_kw);
    w.Key("facility_kw");
    NumberOrNull(w, k.facility_kw);
    w.Key("cooling_share");
    NumberOrNull(w, k.cooling_share);
    w.Key("kw_per_ton");
    NumberOrNull(w, k.kw_per_ton);
    w.Key("cooling_capacity_factor");
    NumberOrNull(w, k.cooling_capacity_factor);
    w.Key("energy_kwh");
    w.BeginObject();
    w.Key("it");
    NumberOrNull(w, k.it_kwh);
    w.Key("cooling");
    NumberOrNull(w, k.cooling_kwh);
    w.Key("facility");
    NumberOrNull(w, k.facility_kwh);
    w.EndObject();
    w.Key("cost");
    w.BeginObject();
    w.Key("currency");
    w.String(k.currency);
    w.Key("total");
    NumberOrNull(w, k.cost);
    w.EndObject();
    w.Key("rci_hi");
    NumberOrNull(w, k.rci_hi);
    w.Key("rci_lo");
    NumberOrNull(w, k.rci_lo);
    w.Key("rooms");
    w.BeginArray();
    for (const auto& i : k.rooms) inlets(i, false);
    w.EndArray();
    w.Key("racks");
    w.BeginArray();
    for (const auto& i : k.racks) inlets(i, true);
    w.EndArray();
    w.Key("rti");
    w.BeginArray();
    for (const auto& r : k.rti) {
      w.BeginObject();
      w.Key("zone_unit");
      w.String(r.unit);
      w.Key("room");
      w.String(r.room);
      w.Key("basis");
      w.String(r.zone ? "zone" : "room");
      w.Key("racks");
      w.Int(r.racks);
      w.Key("supply_c");
      NumberOrNull(w, r.supply_c);
      w.Key("return_c");
      NumberOrNull(w, r.return_c);
      w.Key("rack_delta_t");
      NumberOrNull(w, r.rack_delta_t);
      w.Key("rti");
      NumberOrNull(w, r.rti);
      w.EndObject();
    }
    w.EndArray();
    w.Key("rate_violations");
    w.BeginArray();
    for (const auto& v : k.rate_violations) {
      w.BeginObject();
      w.Key("device_id");
      w.String(v.device_id);
      w.Key("rack");
      w.String(v.rack);
      w.Key("first_at");
      w.Timestamp(v.first_micros);
      w.Key("max_change_c");
      NumberOrNull(w, v.max_change_c);
      w.Key("samples");
      w.Int(v.samples);
      w.EndObject();
    }
    w.EndArray();
    w.Key("completeness");
    w.BeginArray();
    for (const auto& c : k.completeness) {
      w.BeginObject();
      w.Key("device_id");
      w.String(c.device_id);
      w.Key("cadence_s");
      NumberOrNull(w, static_cast<double>(c.cadence_micros) / kSecond);
      w.Key("expected");
      w.Int(c.expected);
      w.Key("received");
      w.Int(c.received);
      w.Key("ratio");
      NumberOrNull(w, c.ratio);
      w.EndObject();
    }
    w.EndArray();
    w.Key("pue_hourly");
    w.BeginArray();
    for (const auto& h : k.hours) {
      w.BeginObject();
      w.Key("hour");
      w.Timestamp(h.hour_micros);
      w.Key("facility_kwh");
      NumberOrNull(w, h.facility_kwh);
      w.Key("it_kwh");
      NumberOrNull(w, h.it_kwh);
      w.Key("pue");
      NumberOrNull(w, h.pue);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  return out;
}

}  // namespace dcmon::analytics
