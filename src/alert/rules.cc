// Rule parsing and matching. Every key of a [[rule]] table must be known (a typo is an error).
#include "alert/rules.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace dcmon::alert {
namespace {

// Reads one [[rule]] table; the first error wins and names the field.
class RuleReader {
 public:
  RuleReader(const toml::table& table, std::string path) : table_(table), path_(std::move(path)) {}

  void Str(std::string_view key, std::string& out) {
    if (const toml::node* n = Find(key)) {
      if (const auto* v = n->as_string()) {
        out = v->get();
      } else {
        Fail(key, "expected a string");
      }
    }
  }
  void Num(std::string_view key, double& out) {
    if (const toml::node* n = Find(key)) {
      if (auto v = n->value<double>(); v && n->is_number()) {
        out = *v;
      } else {
        Fail(key, "expected a number");
      }
    }
  }
  // Seconds in the file, microseconds in the rule.
  void Seconds(std::string_view key, int64_t& out_micros) {
    if (const toml::node* n = Find(key)) {
      const auto* v = n->as_integer();
      if (!v || v->get() < 0 || v->get() > 366LL * 86400) {
        Fail(key, "expected whole seconds in 0..31622400");
      } else {
        out_micros = v->get() * 1'000'000;
      }
    }
  }
  void Bool(std::string_view key, bool& out) {
    if (const toml::node* n = Find(key)) {
      if (const auto* v = n->as_boolean()) {
        out = v->get();
      } else {
        Fail(key, "expected true or false");
      }
    }
  }
  void Labels(std::string_view key, std::map<std::string, std::string>& out) {
    const toml::node* n = Find(key);
    if (!n) return;
    const toml::table* t = n->as_table();
    if (!t) return Fail(key, "expected a table of strings");
    for (auto&& [k, v] : *t) {
      if (!v.is_string()) return Fail(key, fmt::format("{}: expected a string", k.str()));
      out[std::string(k.str())] = *v.value<std::string>();
    }
  }
  void Fail(std::string_view key, std::string_view reason) {
    if (error_.ok()) error_ = InvalidArgument(fmt::format("{}.{}: {}", path_, key, reason));
  }
  Status Finish() {
    for (auto&& [key, node] : table_) {
      if (!seen_.count(std::string(key.str()))) Fail(key.str(), "unknown field");
    }
    return error_;
  }

 private:
  const toml::node* Find(std::string_view key) {
    seen_.emplace(key);
    return table_.get(key);
  }
  const toml::table& table_;
  std::string path_;
  Status error_;
  std::set<std::string, std::less<>> seen_;
};

Result<RuleKind> KindFrom(std::string_view s) {
  if (s == "threshold") return RuleKind::kThreshold;
  if (s == "rate") return RuleKind::kRate;
  if (s == "stale") return RuleKind::kStale;
  if (s == "stuck") return RuleKind::kStuck;
  if (s == "kpi") return RuleKind::kKpi;
  if (s == "anomaly") return RuleKind::kAnomaly;
  return InvalidArgument(
      fmt::format("expected threshold, rate, stale, stuck, kpi or anomaly, got \"{}\"", s));
}

}  // namespace

std::string_view RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kThreshold:
      return "threshold";
    case RuleKind::kRate:
      return "rate";
    case RuleKind::kStale:
      return "stale";
    case RuleKind::kStuck:
      return "stuck";
    case RuleKind::kKpi:
      return "kpi";
    case RuleKind::kAnomaly:
      return "anomaly";
  }
  return "?";
}

std::string_view CategoryName(Category category) {
  return category == Category::kSensor ? "sensor" : "facility";
}

Status Rule::Validate() const {
  auto bad = [&](std::string_view field, std::string_view why) {
    return InvalidArgument(fmt::format("rule {}: {}: {}", name, field, why));
  };
  if (name.empty()) return InvalidArgument("rule: name: must not be empty");
  if (severity.empty()) return bad("severity", "must not be empty (critical, warning, info)");
  if (runbook.empty()) return bad("runbook", "must not be empty: say what the operator does");
  if (zone_incident && site_incident)
    return bad("site_incident", "a rule is a zone incident or a site incident, not both");
  if (settle_micros > 0 && !zone_incident && !site_incident)
    return bad("settle_s", "only incidents (zone_incident, site_incident) settle");
  if ((zone_incident || site_incident) && category != Category::kFacility)
    return bad("category", "incidents are facility problems");
  if (!select.source.empty() && select.source != "sensor" && select.source != "cooling") {
    return bad("source", "expected sensor or cooling");
  }
  switch (kind) {
    case RuleKind::kThreshold:
      if (below ? clear < level : clear > level) {
        return bad("clear", below ? "must be at or above level for a below rule"
                                  : "must be at or below level");
      }
      break;
    case RuleKind::kRate:
      if (delta <= 0) return bad("delta", "must be above 0");
      if (window_micros <= 0) return bad("window_s", "must be above 0");
      break;
    case RuleKind::kStuck:
      if (window_micros <= 0) return bad("window_s", "must be above 0");
      break;
    case RuleKind::kStale:
      if (after_micros <= 0) return bad("after_s", "must be above 0");
      break;
    case RuleKind::kKpi:
      if (select.kpi.empty()) return bad("kpi", "must name a KPI (pue_hour, cooling_share, …)");
      if (below ? clear < level : clear > level) {
        return bad("clear", below ? "must be at or above level for a below rule"
                                  : "must be at or below level");
      }
      break;
    case RuleKind::kAnomaly:
      if (!(level > 0 && level <= 1)) return bad("level", "an anomaly score: must be in (0, 1]");
      if (for_micros > 0) return bad("for_s", "an anomaly is an onset: it fires at once");
      if (keep_firing_for_micros <= 0)
        return bad("keep_firing_for_s", "must be above 0: an anomaly rule resolves after it");
      if (!select.source.empty() || !select.measurement_type.empty() || select.field != "value")
        return bad("source",
                   "anomaly rules select by detector, device, device_prefix and position_prefix");
      break;
  }
  if (kind != RuleKind::kAnomaly && !select.detector.empty())
    return bad("detector", "only anomaly rules select by detector");
  if (detect::DetectorKind k;
      !select.detector.empty() && !detect::DetectorFromName(select.detector, k))
    return bad("detector",
               fmt::format("no detector is named \"{}\" (docs/detection.md)", select.detector));
  return Status::Ok();
}

bool Rule::Matches(const Record& record) const {
  if (kind == RuleKind::kKpi) return false;
  if (kind == RuleKind::kAnomaly) return false;
  const auto* s = std::get_if<SensorReading>(&record);
  if (!select.source.empty() && (select.source == "sensor") != (s != nullptr)) return false;
  std::string_view id = DeviceIdOf(record);
  if (!select.device.empty() && id != select.device) return false;
  if (!select.device_prefix.empty() && !id.starts_with(select.device_prefix)) return false;
  if (s) {
    if (!select.measurement_type.empty() && s->measurement_type != select.measurement_type)
      return false;
    if (!select.position_prefix.empty() &&
        !std::string_view(s->position).starts_with(select.position_prefix))
      return false;
  } else if (!select.measurement_type.empty() || !select.position_prefix.empty()) {
    return false;
  }
  return true;
}

bool Rule::MatchesAnomaly(const detect::Anomaly& anomaly) const {
  if (kind != RuleKind::kAnomaly || anomaly.score < level) return false;
  if (!select.detector.empty() && detect::DetectorName(anomaly.detector) != select.detector)
    return false;
  if (!select.device.empty() && anomaly.device != select.device) return false;
  return select.device_prefix.empty() || anomaly.device.starts_with(select.device_prefix);
}

bool Rule::Read(const Record& record, double& value) const {
  if (const auto* s = std::get_if<SensorReading>(&record)) {
    if (select.field != "value") return false;
    value = s->value;
    return true;
  }
  const auto& c = std::get<CoolingMetric>(record);
  const std::string& f = select.field;
  const std::optional<double>* opt = nullptr;
  if (f == "efficiency_percent") {
    value = c.efficiency_percent;
    return true;
  }
  if (f == "power_consumption_watts") {
    value = c.power_consumption_watts;
    return true;
  }
  if (f == "fan_speed_percent") opt = &c.fan_speed_percent;
  if (f == "supply_air_temp_celsius") opt = &c.supply_air_temp_celsius;
  if (f == "return_air_temp_celsius") opt = &c.return_air_temp_celsius;
  if (!opt || !opt->has_value()) return false;
  value = **opt;
  return true;
}

Result<std::vector<Rule>> ParseRules(std::string_view text, std::string_view origin) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", origin, e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
  for (auto&& [key, node] : doc) {
    if (key.str() != "rule")
      return InvalidArgument(fmt::format("{}: {}: unknown field", origin, key.str()));
  }
  const toml::array* array = doc["rule"].as_array();
  if (!array) return InvalidArgument(fmt::format("{}: rule: expected [[rule]] tables", origin));
  std::vector<Rule> rules;
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* t = (*array)[i].as_table();
    if (!t) return InvalidArgument(fmt::format("{}: rule[{}]: expected a table", origin, i));
    Rule r;
    std::string path = fmt::format("{}: rule[{}]", origin, i);
    RuleReader in(*t, path);
    std::string kind = "threshold", category = "facility", op = "above";
    in.Str("name", r.name);
    in.Str("kind", kind);
    in.Str("category", category);
    in.Str("source", r.select.source);
    in.Str("measurement_type", r.select.measurement_type);
    in.Str("position_prefix", r.select.position_prefix);
    in.Str("device", r.select.device);
    in.Str("device_prefix", r.select.device_prefix);
    in.Str("field", r.select.field);
    in.Str("kpi", r.select.kpi);
    in.Str("detector", r.select.detector);
    in.Str("op", op);
    in.Num("level", r.level);
    bool has_clear = t->contains("clear");
    in.Num("clear", r.clear);
    in.Seconds("for_s", r.for_micros);
    in.Seconds("keep_firing_for_s", r.keep_firing_for_micros);
    in.Num("delta", r.delta);
    in.Seconds("window_s", r.window_micros);
    in.Seconds("after_s", r.after_micros);
    in.Bool("zone_incident", r.zone_incident);
    in.Bool("site_incident", r.site_incident);
    in.Seconds("settle_s", r.settle_micros);
    in.Str("severity", r.severity);
    in.Str("runbook", r.runbook);
    in.Str("summary", r.summary);
    in.Labels("labels", r.labels);
    if (Result<RuleKind> k = KindFrom(kind); k.ok()) {
      r.kind = *k;
    } else {
      in.Fail("kind", k.status().message());
    }
    if (category != "facility" && category != "sensor")
      in.Fail("category", fmt::format("expected facility or sensor, got \"{}\"", category));
    r.category = category == "sensor" ? Category::kSensor : Category::kFacility;
    if (op != "above" && op != "below")
      in.Fail("op", fmt::format("expected above or below, got \"{}\"", op));
    r.below = op == "below";
    if (!has_clear) r.clear = r.level;
    if (Status s = in.Finish(); !s.ok()) return s;
    if (Status s = r.Validate(); !s.ok())
      return InvalidArgument(fmt::format("{}: {}", path, s.message()));
    if (!names.insert(r.name).second)
      return InvalidArgument(fmt::format("{}.name: \"{}\" is used twice", path, r.name));
    rules.push_back(std::move(r));
  }
  return rules;
}

Result<std::vector<Rule>> LoadRules(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("{}: cannot open the rules file", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseRules(text.str(), path);
}

}  // namespace dcmon::alert
