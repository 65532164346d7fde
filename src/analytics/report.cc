#include "analytics/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/time.h"

namespace dcmon::analytics {
namespace {

constexpr int64_t kMinute = 60'000'000;
constexpr size_t kChartRacks = 60;     // racks drawn in the compliance chart (the worst)
constexpr size_t kListedDevices = 50;  // devices listed under completeness (the worst)

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v, int decimals = 2) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : "n/a";
}
std::string Percent(double share) {
  return std::isfinite(share) ? Num(share * 100, 1) + " %" : "n/a";
}
std::string Time(int64_t micros) { return FormatRfc3339(micros); }

std::string Duration(int64_t micros) {
  const int64_t minutes = micros / kMinute;
  if (minutes < 60) return fmt::format("{} min", minutes);
  return fmt::format("{} h {:02} min", minutes / 60, minutes % 60);
}

// The hourly PUE as a line over the period; gaps (hours without both meters) break the line.
std::string PueChart(const std::vector<Kpis::Hour>& hours) {
  std::vector<const Kpis::Hour*> points;
  for (const auto& h : hours)
    if (std::isfinite(h.pue)) points.push_back(&h);
  if (points.empty()) return "<p>No hour with both meters in the period.</p>";
  constexpr double kW = 720, kH = 200, kLeft = 50, kBottom = 24;
  double lo = points.front()->pue, hi = lo;
  for (const auto* p : points) lo = std::min(lo, p->pue), hi = std::max(hi, p->pue);
  lo = std::floor(lo * 20) / 20;
  hi = std::max(std::ceil(hi * 20) / 20, lo + 0.05);
  const int64_t t0 = hours.front().hour_micros;
  const int64_t span = std::max<int64_t>(hours.back().hour_micros - t0, 1);
  auto x = [&](int64_t t) {
    return kLeft + (kW - kLeft - 10) * static_cast<double>(t - t0) / span;
  };
  auto y = [&](double v) { return 10 + (kH - kBottom - 10) * (hi - v) / (hi - lo); };
  std::string svg = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"PUE per hour\">",
      kW, kH, kW, kH);
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"10\" x2=\"{0}\" y2=\"{1}\" class=\"axis\"/><line x1=\"{0}\" "
      "y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" class=\"axis\"/>",
      kLeft, kH - kBottom, kW - 10);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{:.2f}</text>",
                     kLeft - 4, y(hi) + 4, hi);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{:.2f}</text>",
                     kLeft - 4, y(lo) + 4, lo);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\">{}</text>", kLeft, kH - 6,
                     Escape(Time(t0)));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                     kW - 10, kH - 6, Escape(Time(hours.back().hour_micros)));
  std::string line;
  int64_t previous = 0;
  for (const auto* p : points) {
    const bool gap = !line.empty() && p->hour_micros - previous > 60 * kMinute;
    line += fmt::format("{}{:.1f},{:.1f} ", line.empty() || gap ? "M" : "L", x(p->hour_micros),
                        y(p->pue));
    previous = p->hour_micros;
  }
  svg += fmt::format("<path d=\"{}\" class=\"line\"/>", line);
  for (const auto* p : points) {
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" class=\"dot\"><title>{} PUE {:.3f}</title>"
        "</circle>",
        x(p->hour_micros), y(p->pue), Escape(Time(p->hour_micros)), p->pue);
  }
  return svg + "</svg>";
}

// Stacked bars per rack: share of samples in recommended, allowable only, and outside.
std::string ComplianceChart(std::vector<const Kpis::Inlets*> racks) {
  if (racks.empty()) return "<p>No rack inlet readings in the period.</p>";
  const size_t n = std::min(racks.size(), kChartRacks);
  constexpr double kW = 720, kLabel = 150, kRow = 14;
  const double height = n * kRow + 20;
  std::string svg = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"Inlet samples per rack in the ASHRAE envelope\">",
      kW, height, kW, height);
  const double bar = kW - kLabel - 10;
  for (size_t i = 0; i < n; ++i) {
    const Kpis::Inlets& r = *racks[i];
    const double y = i * kRow;
    const double rec = r.recommended_share, alw = r.allowable_share - r.recommended_share;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                       kLabel - 6, y + 10, Escape(r.rack));
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"11\" class=\"rec\"/>"
        "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"11\" class=\"alw\"/>"
        "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"11\" class=\"out\"/>",
        kLabel, y, bar * rec, kLabel + bar * rec, y, bar * alw, kLabel + bar * (rec + alw), y,
        bar * (1 - rec - alw));
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" class=\"tick\">recommended · allowable only · outside "
      "allowable{}</text>",
      kLabel, height - 4,
      racks.size() > n ? fmt::format(" (the {} least compliant of {} racks)", n, racks.size())
                       : "");
  return svg + "</svg>";
}

constexpr std::string_view kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;border-bottom:1px solid #eee;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.chart{display:block;margin:.5em 0}.axis{stroke:#888}.tick{font-size:10px;fill:#555}
.line{fill:none;stroke:#1f77b4;stroke-width:2}.dot{fill:#1f77b4}
.rec{fill:#2ca02c}.alw{fill:#ffbf00}.out{fill:#d62728}.bad{color:#b00}
)css";

}  // namespace

Result<std::optional<std::vector<Incident>>> ReadIncidents(store::Connection& conn, int64_t from,
                                                           int64_t to) {
  Result<store::QueryResult> has = conn.Query(
      "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alert_events' AND NOT temporary");
  if (!has.ok()) return has.status();
  if (has->Int64(0, 0) == 0) return std::optional<std::vector<Incident>>();
  // Each firing with the first resolve of the same alert after it.
  Result<store::QueryResult> r = conn.Query(
      fmt::format("WITH e AS (SELECT alert_id, rule, device, severity, state, inhibited_by, "
                  "epoch_us(\"at\") AS t FROM alert_events WHERE state IN ('firing', 'resolved')), "
                  "f AS (SELECT e.*, (SELECT min(r.t) FROM e r WHERE r.alert_id = e.alert_id AND "
                  "r.state = 'resolved' AND r.t >= e.t) AS ended FROM e WHERE state = 'firing' AND "
                  "coalesce(inhibited_by, '') = '') "
                  "SELECT rule, device, severity, t, coalesce(ended, 0) FROM f WHERE t < {1} AND "
                  "(ended IS NULL OR ended > {0}) ORDER BY t, rule, device",
                  from, to));
  if (!r.ok()) return r.status();
  std::vector<Incident> out;
  for (size_t i = 0; i < r->rows(); ++i) {
    out.push_back({.rule = *r->Text(0, i),
                   .device = *r->Text(1, i),
                   .severity = *r->Text(2, i),
                   .starts_micros = r->Int64(3, i),
                   .ends_micros = r->Int64(4, i)});
  }
  return std::optional(std::move(out));
}

std::string RenderReport(const Kpis& k, const std::optional<std::vector<Incident>>& incidents) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += fmt::format("<title>dcmon report {} – {}</title><style>{}</style></head><body>\n",
                   Escape(Time(k.from_micros)), Escape(Time(k.to_micros)), kStyle);
  h += fmt::format(
      "<h1>Compliance and energy report</h1><p>Period {} to {} (UTC). ASHRAE class {}. "
      "Definitions: docs/analytics.md.</p>\n",
      Escape(Time(k.from_micros)), Escape(Time(k.to_micros)), Escape(k.ashrae_class));

  h += "<h2>Energy and cost</h2><table><tr><th>KPI</th><th>value</th></tr>";
  auto row = [&h](std::string_view name, const std::string& value) {
    h += fmt::format("<tr><td>{}</td><td>{}</td></tr>", name, Escape(value));
  };
  row("PUE (from energy)", Num(k.pue, 3));
  row("DCiE", Percent(k.dcie));
  row("IT power, mean", Num(k.it_kw, 1) + " kW");
  row("Cooling power, mean", Num(k.cooling_kw, 1) + " kW");
  row("Facility power, mean", Num(k.facility_kw, 1) + " kW");
  row("Cooling share of facility energy", Percent(k.cooling_share));
  row("kW per ton of cooling", Num(k.kw_per_ton, 3));
  row("Cooling capacity factor", Num(k.cooling_capacity_factor, 2));
  row("IT energy", Num(k.it_kwh, 1) + " kWh");
  row("Cooling energy", Num(k.cooling_kwh, 1) + " kWh");
  row("Facility energy", Num(k.facility_kwh, 1) + " kWh");
  row("Energy cost", std::isfinite(k.cost) ? fmt::format("{:.2f} {}", k.cost, k.currency)
                                           : "n/a (no tariff configured)");
  h += "</table>\n<h2>PUE trend (per hour)</h2>" + PueChart(k.hours) + "\n";

  h += "<h2>ASHRAE compliance per rack</h2>";
  h += fmt::format("<p>RCI<sub>HI</sub> {} %, RCI<sub>LO</sub> {} % over every inlet sample.</p>",
                   Num(k.rci_hi, 1), Num(k.rci_lo, 1));
  std::vector<const Kpis::Inlets*> racks;
  for (const auto& r : k.racks) racks.push_back(&r);
  std::stable_sort(racks.begin(), racks.end(), [](const auto* a, const auto* b) {
    return a->recommended_share != b->recommended_share
               ? a->recommended_share < b->recommended_share
               : a->max > b->max;
  });
  h += ComplianceChart(racks);
  h += "<table><tr><th>rack</th><th>room</th><th>samples</th><th>min °C</th><th>mean °C</th>"
       "<th>max °C</th><th>recommended</th><th>allowable</th><th>worst hour</th>"
       "<th>its max °C</th><th>its recommended</th></tr>";
  for (const auto* r : racks) {
    h += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td>"
        "<td{}>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        Escape(r->rack), Escape(r->room), r->samples, Num(r->min), Num(r->mean), Num(r->max),
        r->recommended_share < 1 ? " class=\"bad\"" : "", Percent(r->recommended_share),
        r->allowable_share < 1 ? " class=\"bad\"" : "", Percent(r->allowable_share),
        Escape(Time(r->worst_hour_micros)), Num(r->worst_hour_max),
        Percent(r->worst_hour_recommended_share));
  }
  h += "</table>\n";
  h += "<h3>Per room</h3><table><tr><th>room</th><th>samples</th><th>min °C</th><th>mean °C</th>"
       "<th>max °C</th><th>recommended</th><th>allowable</th></tr>";
  for (const auto& r : k.rooms) {
    h += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        Escape(r.room), r.samples, Num(r.min), Num(r.mean), Num(r.max),
        Percent(r.recommended_share), Percent(r.allowable_share));
  }
  h += "</table>\n";

  h += "<h2>Rate of change (more than 5 °C within 15 minutes)</h2>";
  if (k.rate_violations.empty()) {
    h += "<p>No inlet changed faster than the limit.</p>";
  } else {
    h += "<table><tr><th>sensor</th><th>rack</th><th>first at</th><th>largest change °C</th>"
         "<th>samples</th></tr>";
    for (const auto& v : k.rate_violations) {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       Escape(v.device_id), Escape(v.rack), Escape(Time(v.first_micros)),
                       Num(v.max_change_c), v.samples);
    }
    h += "</table>";
  }

  h += "\n<h2>Return temperature index per CRAH zone</h2>";
  if (k.rti.empty()) {
    h += "<p>No air handler reported supply and return temperatures.</p>";
  } else {
    h += "<table><tr><th>unit</th><th>room</th><th>racks</th><th>supply °C</th><th>return °C</th>"
         "<th>rack ΔT K</th><th>RTI</th></tr>";
    for (const auto& r : k.rti) {
      // A unit without a known zone is judged against its room's racks, and says so.
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} %</td>"
          "</tr>",
          Escape(r.unit), Escape(r.room), r.racks, r.zone ? "" : " (room)", Num(r.supply_c),
          Num(r.return_c), Num(r.rack_delta_t), Num(r.rti, 1));
    }
    h += "</table>";
  }

  h += "\n<h2>Incidents</h2>";
  if (!incidents) {
    h += "<p>No alert history in this store.</p>";
  } else if (incidents->empty()) {
    h += "<p>No incident in the period.</p>";
  } else {
    h += "<table><tr><th>rule</th><th>device</th><th>severity</th><th>started</th>"
         "<th>ended</th><th>duration</th></tr>";
    for (const Incident& i : *incidents) {
      const int64_t end = i.ends_micros ? i.ends_micros : k.to_micros;
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
          Escape(i.rule), Escape(i.device), Escape(i.severity), Escape(Time(i.starts_micros)),
          i.ends_micros ? Escape(Time(i.ends_micros)) : "still firing", i.ends_micros ? "" : "≥ ",
          Duration(end - i.starts_micros));
    }
    h += "</table>";
  }

  h += "\n<h2>Data completeness</h2>";
  int64_t expected = 0, received = 0, short_devices = 0;
  for (const auto& c : k.completeness) {
    expected += c.expected;
    received += std::min(c.received, c.expected);
    short_devices += c.ratio < 0.99;
  }
  h += fmt::format(
      "<p>{} devices; {} of {} expected samples received ({}); {} devices below 99 %.</p>",
      k.completeness.size(), received, expected,
      Percent(expected ? static_cast<double>(received) / expected : NAN), short_devices);
  if (short_devices > 0) {
    h += "<table><tr><th>device</th><th>cadence s</th><th>expected</th><th>received</th>"
         "<th>ratio</th></tr>";
    for (size_t i = 0; i < k.completeness.size() && i < kListedDevices; ++i) {
      const auto& c = k.completeness[i];
      if (c.ratio >= 0.99) break;
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       Escape(c.device_id), Num(c.cadence_micros / 1e6, 0), c.expected, c.received,
                       Percent(c.ratio));
    }
    h += "</table>";
  }
  h += "\n</body></html>\n";
  return h;
}

}  // namespace dcmon::analytics
