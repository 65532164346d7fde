#include "alert/alert_json.h"

#include <simdjson.h>

namespace dcmon::alert {
namespace {

void StringOrNull(std::string_view s, JsonWriter& w) {
  if (s.empty()) {
    w.Null();
  } else {
    w.String(s);
  }
}

void TimeOrNull(int64_t micros, JsonWriter& w) {
  if (micros == 0) {
    w.Null();
  } else {
    w.Timestamp(micros);
  }
}

void WriteMap(const std::map<std::string, std::string>& map, JsonWriter& w) {
  w.BeginObject();
  for (const auto& [k, v] : map) {
    w.DynamicKey(k);
    w.String(v);
  }
  w.EndObject();
}

void WriteList(const std::vector<std::string>& list, JsonWriter& w) {
  w.BeginArray();
  for (const std::string& s : list) w.String(s);
  w.EndArray();
}

}  // namespace

std::string AlertId(const Alert& a) {
  std::string id = a.rule + "/" + a.device;
  if (!a.clock.empty()) id += "/" + a.clock;
  return id;
}

void WriteAlertJson(const AlertStatus& s, JsonWriter& w) {
  const Alert& a = s.alert;
  w.BeginObject();
  w.Key("id");
  w.String(s.id);
  w.Key("rule");
  w.String(a.rule);
  w.Key("device");
  w.String(a.device);
  w.Key("state");
  w.String(AlertStateName(a.state));
  w.Key("severity");
  w.String(a.severity);
  w.Key("category");
  w.String(CategoryName(a.category));
  w.Key("pending_since");
  TimeOrNull(a.pending_since_micros, w);
  w.Key("starts_at");
  TimeOrNull(a.starts_at_micros, w);
  w.Key("ends_at");
  TimeOrNull(a.ends_at_micros, w);
  w.Key("value");
  w.Double(a.value);
  w.Key("inhibited_by");
  StringOrNull(a.inhibited_by, w);
  w.Key("affected_racks");
  WriteList(a.affected_racks, w);
  auto label = [&](const char* name) {
    auto it = a.labels.find(name);
    return it == a.labels.end() ? std::string_view() : std::string_view(it->second);
  };
  w.Key("room");
  StringOrNull(label("room"), w);
  w.Key("zone_unit");
  StringOrNull(s.zone_unit, w);
  w.Key("labels");
  WriteMap(a.labels, w);
  w.Key("annotations");
  WriteMap(a.annotations, w);
  w.Key("silenced_by");
  StringOrNull(s.silenced_by, w);
  w.Key("acknowledged_by");
  StringOrNull(s.acknowledged_by, w);
  w.EndObject();
}

std::string AlertJson(const AlertStatus& status) {
  std::string out;
  {
    JsonWriter w(out);
    WriteAlertJson(status, w);
  }
  return out;
}

std::string StringMapJson(const std::map<std::string, std::string>& map) {
  std::string out;
  {
    JsonWriter w(out);
    WriteMap(map, w);
  }
  return out;
}

std::string StringListJson(const std::vector<std::string>& list) {
  std::string out;
  {
    JsonWriter w(out);
    WriteList(list, w);
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseStringMap(std::string_view json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj))
    return InvalidArgument("expected a JSON object of strings");
  std::map<std::string, std::string> out;
  for (auto field : obj) {
    std::string_view key, value;
    if (field.unescaped_key().get(key) || field.value().get_string().get(value))
      return InvalidArgument("expected a JSON object of strings");
    out.emplace(key, value);
  }
  return out;
}

Result<std::vector<std::string>> ParseStringList(std::string_view json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::array arr;
  if (parser.iterate(padded).get(doc) || doc.get_array().get(arr))
    return InvalidArgument("expected a JSON array of strings");
  std::vector<std::string> out;
  for (auto element : arr) {
    std::string_view s;
    if (element.get_string().get(s)) return InvalidArgument("expected a JSON array of strings");
    out.emplace_back(s);
  }
  return out;
}

}  // namespace dcmon::alert
