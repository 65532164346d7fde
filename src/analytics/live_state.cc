#include "analytics/live_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/json_writer.h"

namespace dcmon::analytics {
namespace {

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kDay = 24 * kHour;

constexpr struct {
  std::string_view name;
  Envelope envelope;
} kEnvelopes[] = {
    {"A1", {18, 27, 15, 32}}, {"A2", {18, 27, 10, 35}}, {"A3", {18, 27, 5, 40}},
    {"A4", {18, 27, 5, 45}},  {"H1", {18, 22, 5, 25}},
};

// A rack inlet: the simulator's inlet_* positions, and rack sensors without a position (the
// original pipeline's "temp_rack-a1").
bool IsInlet(const SensorReading& s) {
  if (s.measurement_type != "temperature") return false;
  if (!s.position.empty()) return s.position.starts_with("inlet");
  return s.device_id.find("rack") != std::string::npos;
}

double Ratio(double a, double b) {
  return a > 0 && b > 0 ? a / b : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

void NumberOrNull(JsonWriter& w, double v) {
  if (std::isfinite(v)) {
    w.Double(std::round(v * 1000) / 1000);
  } else {
    w.Null();
  }
}

const Envelope* FindEnvelope(std::string_view ashrae_class) {
  for (const auto& e : kEnvelopes) {
    if (e.name == ashrae_class) return &e.envelope;
  }
  return nullptr;
}

Status LiveStateOptions::Validate() const {
  if (!FindEnvelope(ashrae_class)) {
    return InvalidArgument(fmt::format(
        "analytics.ashrae_class: expected A1, A2, A3, A4 or H1, got \"{}\"", ashrae_class));
  }
  if (stale_after_micros <= 0)
    return InvalidArgument("analytics.stale_after_s: expected a positive number of seconds");
  return Status::Ok();
}

Result<LiveStateOptions> LiveStateOptionsFrom(const Config& c) {
  LiveStateOptions o;
  o.ashrae_class = c.Get("analytics.ashrae_class").value_or(o.ashrae_class);
  Result<int64_t> stale =
      c.GetInt("analytics.stale_after_s", o.stale_after_micros / 1'000'000, 10, 86400);
  if (!stale.ok()) return stale.status();
  o.stale_after_micros = *stale * 1'000'000;
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

LiveState::LiveState(LiveStateOptions options) : options_(std::move(options)) {
  const Envelope* e = FindEnvelope(options_.ashrae_class);
  envelope_ = e ? *e : kEnvelopes[0].envelope;
  summary_ = std::make_shared<const std::string>("{}");
}

double LiveState::Meter::SumSince(int64_t t) const {
  double sum = 0;
  for (auto it = samples.rbegin(); it != samples.rend() && it->first >= t; ++it) sum += it->second;
  return sum;
}

void LiveState::AddMeter(Meter& m, int64_t t, double v) {
  if (!m.samples.empty() && t <= m.samples.back().first)
    return;  // late or repeated: the sums
             // keep to the live edge
  m.samples.emplace_back(t, v);
  while (!m.samples.empty() && m.samples.front().first < t - kDay) m.samples.pop_front();
}

void LiveState::Apply(const std::vector<Record>& records) {
  std::lock_guard lock(devices_mu_);
  for (const Record& r : records) {
    if (const auto* s = std::get_if<SensorReading>(&r)) {
      latest_event_ = std::max(latest_event_, s->timestamp_micros);
      if (s->device_id == options_.facility_meter)
        AddMeter(facility_, s->timestamp_micros, s->value);
      if (s->device_id == options_.it_meter) AddMeter(it_, s->timestamp_micros, s->value);
      Last& l = sensors_[s->device_id];
      if (s->timestamp_micros < l.time) continue;
      l.value = s->value;
      l.time = s->timestamp_micros;
      l.inlet = IsInlet(*s);
      if (l.room.empty()) l.room = s->placement.room.empty() ? s->location : s->placement.room;
      if (l.rack.empty()) l.rack = s->placement.rack;
      if (l.row.empty()) l.row = s->placement.row;
      if (l.position.empty()) l.position = s->position;
      if (l.measurement.empty()) l.measurement = s->measurement_type;
    } else {
      const auto& c = std::get<CoolingMetric>(r);
      latest_event_ = std::max(latest_event_, c.timestamp_micros);
      Last& l = cooling_[c.system_id];
      if (c.timestamp_micros < l.time) continue;
      l.value = c.power_consumption_watts;
      l.time = c.timestamp_micros;
      l.efficiency_percent = c.efficiency_percent;
      l.fan_speed_percent = c.fan_speed_percent;
      l.supply_c = c.supply_air_temp_celsius;
      l.return_c = c.return_air_temp_celsius;
      if (l.room.empty()) l.room = c.placement.room;
    }
  }
}

LiveState::FacilityKpis LiveState::Kpis() const {
  FacilityKpis k;
  double cooling_w = 0;
  for (const auto& [id, l] : cooling_) cooling_w += l.value;
  k.pue = Ratio(facility_.Latest(), it_.Latest());
  k.cooling_share = Ratio(cooling_w, facility_.Latest());
  k.event_micros = facility_.samples.empty() ? 0 : facility_.samples.back().first;
  const int64_t edge = k.event_micros;
  k.pue_hour = Ratio(facility_.SumSince(edge - kHour), it_.SumSince(edge - kHour));
  k.pue_day = Ratio(facility_.SumSince(edge - kDay), it_.SumSince(edge - kDay));
  return k;
}

void LiveState::Publish(int64_t now_micros) {
  const double facility_w = facility_.Latest();
  const double it_w = it_.Latest();
  double cooling_w = 0;
  for (const auto& [id, l] : cooling_) cooling_w += l.value;
  const FacilityKpis kpis = Kpis();
  const double pue_now = kpis.pue, pue_hour = kpis.pue_hour, pue_day = kpis.pue_day;

  int inlets = 0, recommended = 0, allowable = 0, outside = 0, stale = 0;
  double over = 0;
  std::vector<std::pair<double, const std::string*>> hottest;
  std::vector<const std::string*> stale_ids;
  auto check_stale = [&](const std::string& id, const Last& l) {
    if (now_micros - l.time > options_.stale_after_micros) {
      ++stale;
      if (stale_ids.size() < 50) stale_ids.push_back(&id);
    }
  };
  for (const auto& [id, l] : sensors_) {
    check_stale(id, l);
    if (!l.inlet || now_micros - l.time > options_.stale_after_micros) continue;
    ++inlets;
    if (l.value >= envelope_.recommended_low && l.value <= envelope_.recommended_high) {
      ++recommended;
    } else if (l.value >= envelope_.allowable_low && l.value <= envelope_.allowable_high) {
      ++allowable;
    } else {
      ++outside;
    }
    over += std::max(l.value - envelope_.recommended_high, 0.0);
    hottest.emplace_back(l.value, &id);
  }
  for (const auto& [id, l] : cooling_) check_stale(id, l);
  const size_t n_hot = std::min(hottest.size(), static_cast<size_t>(options_.hottest));
  std::partial_sort(hottest.begin(), hottest.begin() + n_hot, hottest.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  hottest.resize(n_hot);
  std::sort(stale_ids.begin(), stale_ids.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  // RCI_HI (DOMAIN.md): 100 % when no inlet is above the recommended maximum.
  const double span = envelope_.allowable_high - envelope_.recommended_high;
  const double rci_hi = inlets ? (1 - over / (inlets * span)) * 100 : std::nan("");

  auto out = std::make_shared<std::string>();
  {  // the writer finishes the string when it goes out of scope
    JsonWriter w(*out);
    w.BeginObject();
    w.Key("updated_at");
    w.Timestamp(now_micros);
    w.Key("latest_event_time");
    if (latest_event_) {
      w.Timestamp(latest_event_);
    } else {
      w.Null();
    }
    w.Key("power");
    w.BeginObject();
    w.Key("facility_kw");
    NumberOrNull(w, facility_.samples.empty() ? NAN : facility_w / 1000);
    w.Key("it_kw");
    NumberOrNull(w, it_.samples.empty() ? NAN : it_w / 1000);
    w.Key("cooling_kw");
    NumberOrNull(w, cooling_.empty() ? NAN : cooling_w / 1000);
    w.Key("cooling_share");
    NumberOrNull(w, kpis.cooling_share);
    w.EndObject();
    w.Key("pue");
    w.BeginObject();
    w.Key("now");
    NumberOrNull(w, pue_now);
    w.Key("hour");
    NumberOrNull(w, pue_hour);
    w.Key("day");
    NumberOrNull(w, pue_day);
    w.EndObject();
    w.Key("inlets");
    w.BeginObject();
    w.Key("ashrae_class");
    w.String(options_.ashrae_class);
    w.Key("sensors");
    w.Int(inlets);
    w.Key("in_recommended");
    w.Int(recommended);
    w.Key("allowable_only");
    w.Int(allowable);
    w.Key("outside_allowable");
    w.Int(outside);
    w.Key("rci_hi");
    NumberOrNull(w, rci_hi);
    // The bands themselves, so that a client colours by the same envelope (the dashboard).
    w.Key("envelope");
    w.BeginObject();
    w.Key("recommended_low");
    w.Double(envelope_.recommended_low);
    w.Key("recommended_high");
    w.Double(envelope_.recommended_high);
    w.Key("allowable_low");
    w.Double(envelope_.allowable_low);
    w.Key("allowable_high");
    w.Double(envelope_.allowable_high);
    w.EndObject();
    w.EndObject();
    w.Key("hottest_inlets");
    w.BeginArray();
    for (const auto& [value, id] : hottest) {
      const Last& l = sensors_.at(*id);
      w.BeginObject();
      w.Key("device_id");
      w.String(*id);
      w.Key("room");
      w.String(l.room);
      w.Key("rack");
      w.String(l.rack);
      w.Key("value");
      w.Double(value);
      w.Key("time");
      w.Timestamp(l.time);
      w.EndObject();
    }
    w.EndArray();
    w.Key("stale");
    w.BeginObject();
    w.Key("after_seconds");
    w.Int(options_.stale_after_micros / 1'000'000);
    w.Key("count");
    w.Int(stale);
    w.Key("devices");
    w.BeginArray();
    for (const std::string* id : stale_ids) w.String(*id);
    w.EndArray();
    w.EndObject();
    w.Key("devices");
    w.Int(static_cast<int64_t>(sensors_.size() + cooling_.size()));
    w.EndObject();
  }

  std::vector<std::pair<std::string, double>> gauges = {
      {"pue", pue_now},
      {"pue_hour", pue_hour},
      {"facility_watts", facility_.samples.empty() ? NAN : facility_w},
      {"it_watts", it_.samples.empty() ? NAN : it_w},
      {"cooling_watts", cooling_.empty() ? NAN : cooling_w},
      {"inlets_outside_recommended", static_cast<double>(allowable + outside)},
      {"inlets_outside_allowable", static_cast<double>(outside)},
      {"stale_devices", static_cast<double>(stale)},
  };
  std::lock_guard lock(mu_);
  summary_ = std::move(out);
  gauges_ = std::move(gauges);
}

std::shared_ptr<const std::string> LiveState::Summary() const {
  std::lock_guard lock(mu_);
  return summary_;
}

std::string LiveState::Latest(std::string_view room, int64_t now_micros) const {
  std::string out;
  std::lock_guard lock(devices_mu_);
  // Sorted by id, so that answers are stable (a plan redrawn from two answers does not shuffle).
  auto sorted = [&](const std::unordered_map<std::string, Last>& m) {
    std::vector<std::pair<const std::string*, const Last*>> v;
    v.reserve(m.size());
    for (const auto& [id, l] : m) {
      if (room.empty() || l.room == room) v.emplace_back(&id, &l);
    }
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
    return v;
  };
  auto optional = [](JsonWriter& w, const std::optional<double>& v) {
    if (v) {
      w.Double(*v);
    } else {
      w.Null();
    }
  };
  {
    JsonWriter w(out);
    w.BeginObject();
    w.Key("updated_at");
    w.Timestamp(now_micros);
    w.Key("room");
    if (room.empty()) {
      w.Null();
    } else {
      w.String(room);
    }
    w.Key("data");
    w.BeginArray();
    for (const auto& [id, l] : sorted(sensors_)) {
      w.BeginObject();
      w.Key("device_id");
      w.String(*id);
      w.Key("measurement_type");
      w.String(l->measurement);
      w.Key("room");
      w.String(l->room);
      // Placement only where the device has one: the large preset's 60,000 sensors stay compact.
      if (!l->row.empty()) {
        w.Key("row");
        w.String(l->row);
      }
      if (!l->rack.empty()) {
        w.Key("rack");
        w.String(l->rack);
      }
      if (!l->position.empty()) {
        w.Key("position");
        w.String(l->position);
      }
      w.Key("value");
      w.Double(l->value);
      w.Key("time");
      w.Timestamp(l->time);
      w.EndObject();
    }
    w.EndArray();
    w.Key("units");
    w.BeginArray();
    for (const auto& [id, l] : sorted(cooling_)) {
      w.BeginObject();
      w.Key("unit");
      w.String(*id);
      w.Key("room");
      w.String(l->room);
      w.Key("power_consumption_watts");
      w.Double(l->value);
      w.Key("efficiency_percent");
      w.Double(l->efficiency_percent);
      w.Key("fan_speed_percent");
      optional(w, l->fan_speed_percent);
      w.Key("supply_air_temp_celsius");
      optional(w, l->supply_c);
      w.Key("return_air_temp_celsius");
      optional(w, l->return_c);
      w.Key("time");
      w.Timestamp(l->time);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  return out;
}

std::vector<std::pair<std::string, double>> LiveState::Gauges() const {
  std::lock_guard lock(mu_);
  return gauges_;
}

}  // namespace dcmon::analytics
