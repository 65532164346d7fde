// Facility TOML loading and validation.
#include "sim/facility.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "core/time.h"
#include "sim/facility_presets.h"

namespace dcmon::sim {
namespace {

// Reads typed fields of one TOML table. Every key of the table must be read (unknown keys are
// typos); the first error wins and names the field by its full path.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string path, Status& error)
      : table_(table), path_(std::move(path)), error_(error) {}

  void Read(std::string_view key, double& out) {
    if (const toml::node* n = Find(key)) {
      if (auto v = n->value<double>(); v && n->is_number()) {
        out = *v;
      } else {
        Fail(key, fmt::format("expected a number, got {}", TypeName(*n)));
      }
    }
  }
  void Read(std::string_view key, int& out) {
    if (const toml::node* n = Find(key)) {
      if (const auto* v = n->as_integer()) {
        out = static_cast<int>(v->get());
      } else {
        Fail(key, fmt::format("expected an integer, got {}", TypeName(*n)));
      }
    }
  }
  void Read(std::string_view key, bool& out) {
    if (const toml::node* n = Find(key)) {
      if (const auto* v = n->as_boolean()) {
        out = v->get();
      } else {
        Fail(key, fmt::format("expected true or false, got {}", TypeName(*n)));
      }
    }
  }
  void Read(std::string_view key, std::string& out) {
    if (const toml::node* n = Find(key)) {
      if (const auto* v = n->as_string()) {
        out = v->get();
      } else {
        Fail(key, fmt::format("expected a string, got {}", TypeName(*n)));
      }
    }
  }
  // A sub-table; null (and nothing to read) when absent.
  const toml::table* Table(std::string_view key) {
    const toml::node* n = Find(key);
    if (n && !n->is_table()) Fail(key, fmt::format("expected a table, got {}", TypeName(*n)));
    return n ? n->as_table() : nullptr;
  }
  const toml::array* Array(std::string_view key) {
    const toml::node* n = Find(key);
    if (n && !n->is_array())
      Fail(key, fmt::format("expected an array of tables, got {}", TypeName(*n)));
    return n ? n->as_array() : nullptr;
  }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }
  // Call after reading: reports the first key that nothing read.
  void RejectUnknown() {
    if (!table_) return;
    for (auto&& [key, node] : *table_) {
      if (!seen_.count(std::string(key.str()))) Fail(key.str(), "unknown field");
    }
  }

 private:
  const toml::node* Find(std::string_view key) {
    seen_.emplace(key);
    return table_ ? table_->get(key) : nullptr;
  }
  void Fail(std::string_view key, std::string_view reason) {
    if (error_.ok()) error_ = InvalidArgument(fmt::format("{}: {}", Path(key), reason));
  }
  static std::string_view TypeName(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string:
        return "string";
      case toml::node_type::integer:
        return "integer";
      case toml::node_type::floating_point:
        return "number";
      case toml::node_type::boolean:
        return "boolean";
      case toml::node_type::table:
        return "table";
      case toml::node_type::array:
        return "array";
      default:
        return "date/time";
    }
  }

  const toml::table* table_;
  std::string path_;
  Status& error_;
  std::set<std::string, std::less<>> seen_;
};

void ReadRoom(const toml::table* t, const std::string& path, RoomConfig& r, Status& error) {
  TableReader in(t, path, error);
  in.Read("id", r.id);
  in.Read("name", r.name);
  in.Read("rows", r.rows);
  in.Read("racks_per_row", r.racks_per_row);
  in.Read("rack_rated_kw", r.rack_rated_kw);
  in.Read("containment", r.containment);
  in.Read("blanking_gap_fraction", r.blanking_gap_fraction);
  in.Read("crah_units", r.crah_units);
  in.Read("crah_airflow_m3s", r.crah_airflow_m3s);
  in.Read("crah_fan_kw", r.crah_fan_kw);
  in.Read("crah_capacity_kw", r.crah_capacity_kw);
  in.Read("crah_min_speed", r.crah_min_speed);
  in.Read("crah_variable_speed", r.crah_variable_speed);
  in.Read("supply_setpoint_c", r.supply_setpoint_c);
  in.Read("server_delta_t_k", r.server_delta_t_k);
  in.Read("air_capacity_kj_per_k_per_kw", r.air_capacity_kj_per_k_per_kw);
  in.Read("dew_point_min_c", r.dew_point_min_c);
  in.Read("dew_point_max_c", r.dew_point_max_c);
  in.RejectUnknown();
}

Status Range(std::string_view field, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi))
    return InvalidArgument(fmt::format("{}: {} is out of range {}..{}", field, v, lo, hi));
  return Status::Ok();
}

}  // namespace

Result<FacilityConfig> ParseFacility(std::string_view text, std::string_view origin,
                                     std::string_view base_dir) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", origin, e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
  FacilityConfig f;
  Status error;
  TableReader top(&doc, "", error);
  top.Read("name", f.name);
  top.Read("site", f.site);
  {
    TableReader c(top.Table("climate"), "climate", error);
    c.Read("mean_c", f.climate.mean_c);
    c.Read("annual_amplitude_c", f.climate.annual_amplitude_c);
    c.Read("daily_amplitude_c", f.climate.daily_amplitude_c);
    c.Read("dew_point_mean_c", f.climate.dew_point_mean_c);
    c.Read("dew_point_annual_amplitude_c", f.climate.dew_point_annual_amplitude_c);
    c.Read("peak_day_of_year", f.climate.peak_day_of_year);
    c.Read("noise_c", f.climate.noise_c);
    c.Read("weather_csv", f.climate.weather_csv);
    c.RejectUnknown();
  }
  {
    TableReader l(top.Table("load"), "load", error);
    l.Read("base_utilization", f.load.base_utilization);
    l.Read("diurnal_amplitude", f.load.diurnal_amplitude);
    l.Read("weekend_factor", f.load.weekend_factor);
    l.Read("noise", f.load.noise);
    l.Read("idle_fraction", f.load.idle_fraction);
    l.RejectUnknown();
  }
  if (const toml::array* rooms = top.Array("rooms")) {
    for (size_t i = 0; i < rooms->size(); ++i) {
      const std::string path = fmt::format("rooms[{}]", i);
      const toml::table* t = (*rooms)[i].as_table();
      if (!t) {
        if (error.ok()) error = InvalidArgument(path + ": expected a table ([[rooms]])");
        break;
      }
      ReadRoom(t, path, f.rooms.emplace_back(), error);
    }
  }
  {
    TableReader p(top.Table("plant"), "plant", error);
    p.Read("water_cooled", f.plant.water_cooled);
    p.Read("chw_supply_c", f.plant.chw_supply_c);
    p.Read("evaporator_approach_k", f.plant.evaporator_approach_k);
    p.Read("condenser_approach_k", f.plant.condenser_approach_k);
    p.Read("carnot_efficiency", f.plant.carnot_efficiency);
    p.Read("economizer", f.plant.economizer);
    p.Read("economizer_approach_k", f.plant.economizer_approach_k);
    p.Read("economizer_range_k", f.plant.economizer_range_k);
    p.Read("auxiliary_fraction", f.plant.auxiliary_fraction);
    p.Read("loop_capacity_mj_per_k", f.plant.loop_capacity_mj_per_k);
    p.RejectUnknown();
  }
  {
    TableReader e(top.Table("electrical"), "electrical", error);
    e.Read("ups_loss_fraction", f.electrical.ups_loss_fraction);
    e.Read("lighting_kw", f.electrical.lighting_kw);
    e.RejectUnknown();
  }
  {
    TableReader s(top.Table("sampling"), "sampling", error);
    s.Read("temperature_s", f.sampling.temperature_s);
    s.Read("humidity_s", f.sampling.humidity_s);
    s.Read("power_s", f.sampling.power_s);
    s.Read("cooling_s", f.sampling.cooling_s);
    s.Read("meter_s", f.sampling.meter_s);
    s.Read("weather_s", f.sampling.weather_s);
    s.RejectUnknown();
  }
  if (const toml::array* faults = top.Array("faults")) {
    for (size_t i = 0; i < faults->size(); ++i) {
      const auto* spec = (*faults)[i].as_string();
      if (!spec) {
        if (error.ok())
          error = InvalidArgument(fmt::format("faults[{}]: expected a string SPEC", i));
        break;
      }
      f.faults.push_back(spec->get());
    }
  }
  top.RejectUnknown();
  if (error.ok() && !f.climate.weather_csv.empty()) {
    std::string path = f.climate.weather_csv;
    if (!path.starts_with('/') && !base_dir.empty()) path = fmt::format("{}/{}", base_dir, path);
    Result<std::vector<WeatherPoint>> weather = LoadWeatherCsv(path);
    if (weather.ok()) {
      f.climate.weather = std::move(*weather);
    } else {
      error = weather.status().WithPrefix("climate.weather_csv: ");
    }
  }
  if (error.ok()) error = f.Validate();
  if (!error.ok()) return error.WithPrefix(fmt::format("{}: ", origin));
  return f;
}

Status FacilityConfig::Validate() const {
  if (rooms.empty()) return InvalidArgument("rooms: at least one [[rooms]] is required");
  std::set<std::string, std::less<>> ids;
  for (size_t i = 0; i < rooms.size(); ++i) {
    const RoomConfig& r = rooms[i];
    const std::string p = fmt::format("rooms[{}].", i);
    if (r.id.empty()) return InvalidArgument(p + "id: required");
    if (!ids.insert(r.id).second)
      return InvalidArgument(fmt::format("{}id: duplicate room id \"{}\"", p, r.id));
    for (Status s :
         {Range(p + "rows", r.rows, 1, 1000), Range(p + "racks_per_row", r.racks_per_row, 1, 1000),
          Range(p + "rack_rated_kw", r.rack_rated_kw, 0.1, 200),
          Range(p + "blanking_gap_fraction", r.blanking_gap_fraction, 0, 1),
          Range(p + "crah_units", r.crah_units, 1, 1000),
          Range(p + "crah_airflow_m3s", r.crah_airflow_m3s, 0.1, 100),
          Range(p + "crah_fan_kw", r.crah_fan_kw, 0, 500),
          Range(p + "crah_capacity_kw", r.crah_capacity_kw, 1, 10000),
          Range(p + "crah_min_speed", r.crah_min_speed, 0, 1),
          Range(p + "supply_setpoint_c", r.supply_setpoint_c, 5, 35),
          Range(p + "server_delta_t_k", r.server_delta_t_k, 3, 30),
          Range(p + "air_capacity_kj_per_k_per_kw", r.air_capacity_kj_per_k_per_kw, 1, 1000),
          Range(p + "dew_point_min_c", r.dew_point_min_c, -40, 30),
          Range(p + "dew_point_max_c", r.dew_point_max_c, r.dew_point_min_c, 30)}) {
      if (!s.ok()) return s;
    }
  }
  for (Status s : {Range("load.base_utilization", load.base_utilization, 0, 1),
                   Range("load.diurnal_amplitude", load.diurnal_amplitude, 0, 1),
                   Range("load.weekend_factor", load.weekend_factor, 0, 2),
                   Range("load.noise", load.noise, 0, 1),
                   Range("load.idle_fraction", load.idle_fraction, 0, 1),
                   Range("climate.peak_day_of_year", climate.peak_day_of_year, 1, 366),
                   Range("climate.noise_c", climate.noise_c, 0, 20),
                   Range("plant.chw_supply_c", plant.chw_supply_c, 1, 30),
                   Range("plant.evaporator_approach_k", plant.evaporator_approach_k, 0, 20),
                   Range("plant.condenser_approach_k", plant.condenser_approach_k, 0, 30),
                   Range("plant.carnot_efficiency", plant.carnot_efficiency, 0.05, 1),
                   Range("plant.economizer_range_k", plant.economizer_range_k, 0.1, 50),
                   Range("plant.auxiliary_fraction", plant.auxiliary_fraction, 0, 1),
                   Range("plant.loop_capacity_mj_per_k", plant.loop_capacity_mj_per_k, 0.1, 1e6),
                   Range("electrical.ups_loss_fraction", electrical.ups_loss_fraction, 0, 0.5),
                   Range("electrical.lighting_kw", electrical.lighting_kw, 0, 1e5),
                   Range("sampling.temperature_s", sampling.temperature_s, 1, 86400),
                   Range("sampling.humidity_s", sampling.humidity_s, 1, 86400),
                   Range("sampling.power_s", sampling.power_s, 1, 86400),
                   Range("sampling.cooling_s", sampling.cooling_s, 1, 86400),
                   Range("sampling.meter_s", sampling.meter_s, 1, 86400),
                   Range("sampling.weather_s", sampling.weather_s, 1, 86400)}) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

int FacilityConfig::RackCount() const {
  int n = 0;
  for (const auto& r : rooms) n += r.rows * r.racks_per_row;
  return n;
}

std::vector<std::string_view> FacilityPresetNames() {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kFacilityPresetCount; ++i) names.push_back(kFacilityPresets[i].name);
  return names;
}

Result<FacilityConfig> LoadFacility(std::string_view name_or_path) {
  const bool is_path =
      name_or_path.find('/') != std::string_view::npos || name_or_path.ends_with(".toml");
  if (!is_path) {
    for (size_t i = 0; i < kFacilityPresetCount; ++i) {
      if (kFacilityPresets[i].name == name_or_path) {
        return ParseFacility(kFacilityPresets[i].toml, fmt::format("preset {}", name_or_path));
      }
    }
    return InvalidArgument(
        fmt::format("facility: no preset named \"{}\" (presets: {}; or give a .toml path)",
                    name_or_path, fmt::join(FacilityPresetNames(), ", ")));
  }
  std::ifstream in{std::string(name_or_path)};
  if (!in) return InvalidArgument(fmt::format("facility: cannot read {}", name_or_path));
  std::stringstream text;
  text << in.rdbuf();
  const size_t slash = name_or_path.rfind('/');
  return ParseFacility(
      text.str(), name_or_path,
      slash == std::string_view::npos ? std::string_view() : name_or_path.substr(0, slash));
}

Result<std::vector<WeatherPoint>> LoadWeatherCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument(fmt::format("{}: cannot read", path));
  std::vector<WeatherPoint> rows;
  std::string line;
  int line_no = 0;
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("{}:{}: {}", path, line_no, why));
  };
  auto number = [&](std::string_view text, std::string_view column, double lo, double hi,
                    double& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size())
      return bad(fmt::format("{}: not a number", column));
    if (!(out >= lo && out <= hi))
      return bad(fmt::format("{}: {} is out of range {}..{}", column, out, lo, hi));
    return Status::Ok();
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1) {
      if (line != "timestamp,dry_bulb_c,rh_percent")
        return bad("the header must be timestamp,dry_bulb_c,rh_percent");
      continue;
    }
    if (line.empty()) continue;
    const std::string_view view(line);
    const size_t c1 = view.find(',');
    const size_t c2 = c1 == std::string_view::npos ? c1 : view.find(',', c1 + 1);
    if (c2 == std::string_view::npos || view.find(',', c2 + 1) != std::string_view::npos) {
      return bad("expected 3 columns");
    }
    WeatherPoint p;
    Result<int64_t> t = ParseRfc3339(view.substr(0, c1));
    if (!t.ok()) return bad("timestamp: " + t.status().message());
    p.micros = *t;
    if (Status s = number(view.substr(c1 + 1, c2 - c1 - 1), "dry_bulb_c", -60, 60, p.dry_bulb_c);
        !s.ok())
      return s;
    if (Status s = number(view.substr(c2 + 1), "rh_percent", 0.5, 100, p.rh_percent); !s.ok())
      return s;
    if (!rows.empty() && p.micros <= rows.back().micros) return bad("timestamps must increase");
    rows.push_back(p);
  }
  if (rows.size() < 2) return InvalidArgument(fmt::format("{}: needs at least two rows", path));
  return rows;
}

}  // namespace dcmon::sim
