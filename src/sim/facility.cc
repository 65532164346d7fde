// Facility TOML loading and validation.
#include "sim/facility.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <variant>

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

// Each facility field is declared once here, with its TOML name and its valid range; reading and
// Validate() both walk these tables.
template <class S>
struct Field {
  std::string_view name;
  std::variant<double S::*, int S::*, bool S::*, std::string S::*> member;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

const std::vector<Field<ClimateConfig>> kClimateFields = {
    {"mean_c", &ClimateConfig::mean_c, -40, 45},
    {"annual_amplitude_c", &ClimateConfig::annual_amplitude_c, 0, 40},
    {"daily_amplitude_c", &ClimateConfig::daily_amplitude_c, 0, 25},
    {"dew_point_mean_c", &ClimateConfig::dew_point_mean_c, -40, 35},
    {"dew_point_annual_amplitude_c", &ClimateConfig::dew_point_annual_amplitude_c, 0, 40},
    {"peak_day_of_year", &ClimateConfig::peak_day_of_year, 1, 366},
    {"noise_c", &ClimateConfig::noise_c, 0, 20},
    {"weather_csv", &ClimateConfig::weather_csv},
};

const std::vector<Field<LoadConfig>> kLoadFields = {
    {"base_utilization", &LoadConfig::base_utilization, 0, 1},
    {"diurnal_amplitude", &LoadConfig::diurnal_amplitude, 0, 1},
    {"weekend_factor", &LoadConfig::weekend_factor, 0, 2},
    {"noise", &LoadConfig::noise, 0, 1},
    {"idle_fraction", &LoadConfig::idle_fraction, 0, 1},
};

const std::vector<Field<RoomConfig>> kRoomFields = {
    {"id", &RoomConfig::id},
    {"name", &RoomConfig::name},
    {"rows", &RoomConfig::rows, 1, 1000},
    {"racks_per_row", &RoomConfig::racks_per_row, 1, 1000},
    {"rack_rated_kw", &RoomConfig::rack_rated_kw, 0.1, 200},
    {"containment", &RoomConfig::containment},
    {"blanking_gap_fraction", &RoomConfig::blanking_gap_fraction, 0, 1},
    {"crah_units", &RoomConfig::crah_units, 1, 1000},
    {"crah_airflow_m3s", &RoomConfig::crah_airflow_m3s, 0.1, 100},
    {"crah_fan_kw", &RoomConfig::crah_fan_kw, 0, 500},
    {"crah_capacity_kw", &RoomConfig::crah_capacity_kw, 1, 10000},
    {"crah_min_speed", &RoomConfig::crah_min_speed, 0, 1},
    {"crah_variable_speed", &RoomConfig::crah_variable_speed},
    {"supply_setpoint_c", &RoomConfig::supply_setpoint_c, 5, 35},
    {"server_delta_t_k", &RoomConfig::server_delta_t_k, 3, 30},
    {"air_capacity_kj_per_k_per_kw", &RoomConfig::air_capacity_kj_per_k_per_kw, 1, 1000},
    {"dew_point_min_c", &RoomConfig::dew_point_min_c, -40, 30},
    {"dew_point_max_c", &RoomConfig::dew_point_max_c, -40, 30},
};

const std::vector<Field<PlantConfig>> kPlantFields = {
    {"water_cooled", &PlantConfig::water_cooled},
    {"chw_supply_c", &PlantConfig::chw_supply_c, 1, 30},
    {"evaporator_approach_k", &PlantConfig::evaporator_approach_k, 0, 20},
    {"condenser_approach_k", &PlantConfig::condenser_approach_k, 0, 30},
    {"carnot_efficiency", &PlantConfig::carnot_efficiency, 0.05, 1},
    {"economizer", &PlantConfig::economizer},
    {"economizer_approach_k", &PlantConfig::economizer_approach_k, 0, 20},
    {"economizer_range_k", &PlantConfig::economizer_range_k, 0.1, 50},
    {"auxiliary_fraction", &PlantConfig::auxiliary_fraction, 0, 1},
    {"loop_capacity_mj_per_k", &PlantConfig::loop_capacity_mj_per_k, 0.1, 1e6},
};

const std::vector<Field<ElectricalConfig>> kElectricalFields = {
    {"ups_loss_fraction", &ElectricalConfig::ups_loss_fraction, 0, 0.5},
    {"lighting_kw", &ElectricalConfig::lighting_kw, 0, 1e5},
};

const std::vector<Field<SamplingConfig>> kSamplingFields = {
    {"temperature_s", &SamplingConfig::temperature_s, 1, 86400},
    {"humidity_s", &SamplingConfig::humidity_s, 1, 86400},
    {"power_s", &SamplingConfig::power_s, 1, 86400},
    {"cooling_s", &SamplingConfig::cooling_s, 1, 86400},
    {"meter_s", &SamplingConfig::meter_s, 1, 86400},
    {"weather_s", &SamplingConfig::weather_s, 1, 86400},
};

const std::vector<Field<SensorConfig>> kSensorFields = {
    {"temperature_noise_c", &SensorConfig::temperature_noise_c, 0, 5},
    {"humidity_noise_percent", &SensorConfig::humidity_noise_percent, 0, 10},
    {"power_noise_share", &SensorConfig::power_noise_share, 0, 0.1},
};

// Reads every field of `fields` from `table` (absent ones keep their defaults) and refuses unknown
// keys.
template <class S>
void ReadFields(const toml::table* table, const std::string& path,
                const std::vector<Field<S>>& fields, S& out, Status& error) {
  TableReader in(table, path, error);
  for (const Field<S>& f : fields)
    std::visit([&](auto member) { in.Read(f.name, out.*member); }, f.member);
  in.RejectUnknown();
}

// The first numeric field of `s` outside its range, named with `prefix`.
template <class S>
Status CheckRanges(std::string_view prefix, const std::vector<Field<S>>& fields, const S& s) {
  for (const Field<S>& f : fields) {
    double v;
    if (const auto* d = std::get_if<double S::*>(&f.member)) {
      v = s.**d;
    } else if (const auto* i = std::get_if<int S::*>(&f.member)) {
      v = s.**i;
    } else {
      continue;
    }
    if (!(v >= f.lo && v <= f.hi)) {
      return InvalidArgument(
          fmt::format("{}{}: {} is out of range {}..{}", prefix, f.name, v, f.lo, f.hi));
    }
  }
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
  ReadFields(top.Table("climate"), "climate", kClimateFields, f.climate, error);
  ReadFields(top.Table("load"), "load", kLoadFields, f.load, error);
  if (const toml::array* rooms = top.Array("rooms")) {
    for (size_t i = 0; i < rooms->size(); ++i) {
      const std::string path = fmt::format("rooms[{}]", i);
      const toml::table* t = (*rooms)[i].as_table();
      if (!t) {
        if (error.ok()) error = InvalidArgument(path + ": expected a table ([[rooms]])");
        break;
      }
      ReadFields(t, path, kRoomFields, f.rooms.emplace_back(), error);
    }
  }
  ReadFields(top.Table("plant"), "plant", kPlantFields, f.plant, error);
  ReadFields(top.Table("electrical"), "electrical", kElectricalFields, f.electrical, error);
  ReadFields(top.Table("sampling"), "sampling", kSamplingFields, f.sampling, error);
  ReadFields(top.Table("sensors"), "sensors", kSensorFields, f.sensors, error);
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
    if (Status s = CheckRanges(p, kRoomFields, r); !s.ok()) return s;
    if (r.crah_units > r.rows * r.racks_per_row) {
      return InvalidArgument(fmt::format(
          "{}crah_units: {} is more than the room's {} racks (each unit serves a zone of racks)", p,
          r.crah_units, r.rows * r.racks_per_row));
    }
    if (r.dew_point_max_c < r.dew_point_min_c) {
      return InvalidArgument(p + "dew_point_max_c: must not be below dew_point_min_c");
    }
  }
  for (Status s :
       {CheckRanges("climate.", kClimateFields, climate), CheckRanges("load.", kLoadFields, load),
        CheckRanges("plant.", kPlantFields, plant),
        CheckRanges("electrical.", kElectricalFields, electrical),
        CheckRanges("sampling.", kSamplingFields, sampling),
        CheckRanges("sensors.", kSensorFields, sensors)}) {
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
  for (size_t i = 0; i < kFacilityPresetsCount; ++i) names.push_back(kFacilityPresets[i].name);
  return names;
}

Result<FacilityConfig> LoadFacility(std::string_view name_or_path) {
  const bool is_path =
      name_or_path.find('/') != std::string_view::npos || name_or_path.ends_with(".toml");
  if (!is_path) {
    for (size_t i = 0; i < kFacilityPresetsCount; ++i) {
      if (kFacilityPresets[i].name == name_or_path) {
        return ParseFacility(kFacilityPresets[i].content, fmt::format("preset {}", name_or_path));
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
