#include "airbyte/source.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <span>
#include <thread>

#include "api/client.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace dcmon::airbyte {
namespace {

namespace od = simdjson::ondemand;

constexpr std::string_view kDocumentationUrl =
    "https://github.com/dcmon/dcmon/blob/main/docs/airbyte.md";

// How a field is typed in the JSON schema and read from the API's JSON.
enum class FieldType {
  kString,
  kNumber,
  kInteger,
  kTimestamp,  // an RFC 3339 UTC string
  kJsonText,   // a JSON object in the API, its compact text in the record (a MAP has no fixed keys)
};

struct FieldDef {
  consteval FieldDef(const char* n, FieldType t, bool r, const char* d)
      : name(n), key(n), type(t), required(r), doc(d) {}
  std::string_view name;
  JsonKey key;
  FieldType type;
  bool required;  // always present and non-null
  std::string_view doc;
};

struct StreamDef {
  std::string_view name;
  std::string_view path;                          // the paged endpoint, on the stream's cursor
  std::string_view cursor_param;                  // the query parameter: records after this cursor
  std::span<const FieldDef> fields;               // the first is the cursor, also the STATE key
  std::span<const std::string_view> primary_key;  // one top-level field per key part
  std::span<const std::string_view> filters;      // `streams` options, sent as query parameters
  std::span<const std::string_view> ignored;      // API members left out on purpose
};

constexpr FieldDef kSensorFields[] = {
    {"ingest_seq", FieldType::kInteger, true, "ingest cursor: grows with every stored record"},
    {"device_id", FieldType::kString, true, "stable id of the sensor"},
    {"location", FieldType::kString, true, "free-text place, as sent"},
    {"measurement_type", FieldType::kString, true, "temperature, humidity, power, ..."},
    {"value", FieldType::kNumber, true, "the measurement, in unit"},
    {"timestamp", FieldType::kTimestamp, true, "event time, UTC"},
    {"unit", FieldType::kString, false, "celsius, percent, watts, ..."},
    {"seq", FieldType::kInteger, false, "per-device sequence number"},
    {"site", FieldType::kString, false, "placement: site"},
    {"room", FieldType::kString, false, "placement: room"},
    {"row", FieldType::kString, false, "placement: row"},
    {"rack", FieldType::kString, false, "placement: rack"},
    {"position", FieldType::kString, false, "on a rack: inlet_bottom, inlet_middle, ..."},
};
constexpr FieldDef kCoolingFields[] = {
    {"ingest_seq", FieldType::kInteger, true, "ingest cursor: grows with every stored record"},
    {"system_id", FieldType::kString, true, "the cooling unit (CRAH, CRAC, chiller plant)"},
    {"efficiency_percent", FieldType::kNumber, true, "0 to 100"},
    {"power_consumption_watts", FieldType::kNumber, true, "electrical power drawn"},
    {"timestamp", FieldType::kTimestamp, true, "event time, UTC"},
    {"seq", FieldType::kInteger, false, "per-device sequence number"},
    {"site", FieldType::kString, false, "placement: site"},
    {"room", FieldType::kString, false, "placement: room"},
    {"row", FieldType::kString, false, "placement: row"},
    {"rack", FieldType::kString, false, "placement: rack"},
    {"supply_air_temp_celsius", FieldType::kNumber, false, "supply air temperature"},
    {"return_air_temp_celsius", FieldType::kNumber, false, "return air temperature"},
    {"fan_speed_percent", FieldType::kNumber, false, "0 to 100"},
};
constexpr FieldDef kMetricFields[] = {
    {"ingest_seq", FieldType::kInteger, true, "ingest cursor: grows with every stored row"},
    {"time", FieldType::kTimestamp, true, "the point's time, UTC"},
    {"measurement", FieldType::kString, true, "line-protocol measurement"},
    {"tags", FieldType::kJsonText, true, "the point's tags as a JSON object, keys sorted"},
    {"field", FieldType::kString, true, "the field key (one record per field)"},
    {"value", FieldType::kNumber, false, "float, integer, unsigned or boolean (1/0) fields"},
    {"text", FieldType::kString, false, "string fields"},
};

constexpr FieldDef kAlertFields[] = {
    {"event_seq", FieldType::kInteger, true, "history cursor: grows with every state change"},
    {"alert_id", FieldType::kString, true, "the alert: RULE/DEVICE"},
    {"rule", FieldType::kString, true, "the rule that raised it"},
    {"device", FieldType::kString, true, "the device (or facility unit) it is about"},
    {"state", FieldType::kString, true, "the state entered: pending, firing or resolved"},
    {"at", FieldType::kTimestamp, true, "event time of the change, UTC"},
    {"severity", FieldType::kString, true, "critical, warning, info"},
    {"category", FieldType::kString, true, "sensor, facility, ..."},
    {"value", FieldType::kNumber, true, "the value that caused the change"},
    {"inhibited_by", FieldType::kString, false, "the device whose alert inhibits this one"},
    {"affected_racks_json", FieldType::kString, true, "the racks affected, a JSON array as text"},
    {"labels_json", FieldType::kString, true, "the alert's labels, a JSON object as text"},
    {"summary", FieldType::kString, false, "one line for a person"},
};
constexpr FieldDef kAnomalyFields[] = {
    {"anomaly_seq", FieldType::kInteger, true, "anomaly cursor: grows with every stored anomaly"},
    {"device_id", FieldType::kString, true, "the device blamed"},
    {"event_time", FieldType::kTimestamp, true, "time of the sample that raised the score, UTC"},
    {"value", FieldType::kNumber, true, "that sample's value (a relation's residual)"},
    {"score", FieldType::kNumber, true, "0 to 1"},
    {"detector", FieldType::kString, true, "level, inlet-supply, drift, stuck, implausible, ..."},
    {"kind", FieldType::kString, true, "facility or sensor"},
    {"explanation", FieldType::kString, true, "why, for a person"},
    {"ingest_time", FieldType::kTimestamp, true, "when it was stored, UTC"},
};

constexpr std::string_view kIngestSeqKey[] = {"ingest_seq"};
constexpr std::string_view kEventSeqKey[] = {"event_seq"};
constexpr std::string_view kAnomalySeqKey[] = {"anomaly_seq"};
constexpr std::string_view kAlertFilters[] = {"rule", "device"};
constexpr std::string_view kAnomalyFilters[] = {"device"};
constexpr std::string_view kSensorFilters[] = {"room", "measurement"};
constexpr std::string_view kCoolingFilters[] = {"room"};
constexpr std::string_view kMetricFilters[] = {"measurement"};
constexpr std::string_view kSourceType[] = {"source_type"};

const StreamDef kStreams[] = {
    {"sensor_readings", "/api/v1/readings", "start", kSensorFields, kIngestSeqKey, kSensorFilters,
     kSourceType},
    {"cooling_metrics", "/api/v1/cooling", "start", kCoolingFields, kIngestSeqKey, kCoolingFilters,
     kSourceType},
    {"metrics", "/api/v1/metrics", "start", kMetricFields, kIngestSeqKey, kMetricFilters, {}},
    {"alerts", "/api/v1/alerts/events", "after", kAlertFields, kEventSeqKey, kAlertFilters, {}},
    {"anomalies",
     "/api/v1/anomalies",
     "after",
     kAnomalyFields,
     kAnomalySeqKey,
     kAnomalyFilters,
     {}},
};

const StreamDef* FindStream(std::string_view name) {
  for (const StreamDef& s : kStreams) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string StreamNames() {
  std::string names;
  for (const StreamDef& s : kStreams)
    names += fmt::format("{}{}", names.empty() ? "" : ", ", s.name);
  return names;
}

std::string_view CursorName(const StreamDef& s) { return s.fields.front().name; }

// The connectionSpecification. Plain types, secrets marked, no $ref/oneOf/anyOf.
constexpr std::string_view kConnectionSpecification = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "dcmon source",
  "type": "object",
  "required": ["api_url", "api_token"],
  "additionalProperties": true,
  "properties": {
    "api_url": {"type": "string", "title": "API URL", "order": 0,
      "description": "Base URL of dcmon serve, without a path.",
      "examples": ["http://dcmon.internal:8080", "https://dcmon.example.com"],
      "pattern": "^https?://[^/]+/?$"},
    "api_token": {"type": "string", "title": "API token", "order": 1, "airbyte_secret": true,
      "description": "A dcmon API token with the read scope."},
    "ca_file": {"type": "string", "title": "CA file", "order": 5,
      "description": "For https:// API URLs: a PEM file of the CA certificates to verify the server against; empty: the system store."},
    "start_cursor": {"type": "integer", "title": "Start cursor", "order": 2, "minimum": 0,
      "default": 0, "description": "The first sync reads records after this cursor (each stream's own); 0 reads everything."},
    "page_size": {"type": "integer", "title": "Page size", "order": 3, "minimum": 1,
      "maximum": 10000, "default": 10000,
      "description": "Records per API request; a STATE follows every page."},
    "streams": {"type": "object", "title": "Stream options", "order": 4,
      "description": "Optional filters per stream (exact matches).",
      "properties": {
        "sensor_readings": {"type": "object", "title": "sensor_readings", "properties": {
          "room": {"type": "string", "title": "Room", "description": "Only readings of this room."},
          "measurement": {"type": "string", "title": "Measurement",
            "description": "Only this measurement_type, e.g. temperature."}}},
        "cooling_metrics": {"type": "object", "title": "cooling_metrics", "properties": {
          "room": {"type": "string", "title": "Room", "description": "Only units of this room."}}},
        "metrics": {"type": "object", "title": "metrics", "properties": {
          "measurement": {"type": "string", "title": "Measurement",
            "description": "Only points of this line-protocol measurement."}}},
        "alerts": {"type": "object", "title": "alerts", "properties": {
          "rule": {"type": "string", "title": "Rule", "description": "Only changes of this rule."},
          "device": {"type": "string", "title": "Device",
            "description": "Only changes of alerts on this device."}}},
        "anomalies": {"type": "object", "title": "anomalies", "properties": {
          "device": {"type": "string", "title": "Device",
            "description": "Only anomalies blamed on this device."}}}}}
  }
})";

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// A failed request: what to tell the user, and Airbyte's failure type.
struct Failure {
  std::string message;
  FailureType type = FailureType::kSystemError;
};

// The `detail` of a problem document, else the start of the body.
std::string ProblemDetail(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view detail;
  if (!parser.parse(body).get(doc) && !doc["detail"].get(detail)) return std::string(detail);
  return body.substr(0, 200);
}

class Client {
 public:
  Client(const SourceOptions& options, const SourceConfig& config, Emitter& out)
      : options_(options), config_(config), out_(out) {}

  // GETs `target` (a path and query), retrying 5xx, 408, 429 and transport failures up to
  // `retries` times. On success returns true with the body in `body`.
  bool Get(const std::string& target, std::string_view stream, int retries, std::string& body,
           Failure& failure) {
    std::chrono::milliseconds backoff = options_.initial_backoff;
    for (int attempt = 0;; ++attempt) {
      Result<api::HttpResponse> r = Attempt(target);
      std::optional<std::chrono::milliseconds> wait;
      std::string why;
      if (!r.ok() && r.status().code() == StatusCode::kUnauthenticated) {
        failure = {fmt::format("{}. Give ca_file the PEM certificate of the CA that signed the "
                               "server's certificate (or of a self-signed server itself)",
                               r.status().message()),
                   FailureType::kConfigError};
        return false;
      } else if (!r.ok()) {
        why = r.status().message();
        failure = {fmt::format("could not reach dcmon at {}: {}. Check api_url (scheme, host and "
                               "port: https:// for a server behind TLS, http:// for dcmon serve "
                               "itself) and that it is running and reachable from here",
                               config_.api_url, why),
                   FailureType::kTransientError};
      } else if (r->status == 200) {
        body = std::move(r->body);
        return true;
      } else {
        const std::string detail = ProblemDetail(r->body);
        why = fmt::format("HTTP {}: {}", r->status, detail);
        const bool retryable = r->status == 429 || r->status == 408 || r->status >= 500;
        if (!retryable) {
          failure = Classify(r->status, target, detail);
          return false;
        }
        failure = {fmt::format("GET {}: {} (gave up after {} retries)", target, why, retries),
                   FailureType::kTransientError};
        for (const auto& [name, value] : r->headers) {
          if (!strcasecmp(name.c_str(), "retry-after")) {
            if (std::optional<int64_t> s = RetryAfterSeconds(value))
              wait = std::min<std::chrono::milliseconds>(std::chrono::seconds(*s),
                                                         options_.max_backoff);
          }
        }
        if (r->status == 429 && !stream.empty()) {
          out_.RateLimited(stream, NowMicros() / 1000 + (wait ? wait->count() : backoff.count()));
        }
      }
      if (attempt >= retries) return false;
      const std::chrono::milliseconds delay = wait.value_or(backoff);
      out_.Log("WARN", fmt::format("GET {}: {}; retry {} of {} in {} ms", target, why, attempt + 1,
                                   retries, delay.count()));
      out_.Flush();
      std::this_thread::sleep_for(delay);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  // One GET of `target`, nothing emitted: safe on another thread while this one emits.
  Result<api::HttpResponse> Attempt(const std::string& target) const {
    return api::HttpCall(
        "GET", config_.api_url + target,
        {{"Authorization", "Bearer " + config_.api_token}, {"Accept", "application/json"}}, "",
        options_.request_timeout, config_.ca_file);
  }

 private:
  Failure Classify(int status, const std::string& target, const std::string& detail) const {
    switch (status) {
      case 401:
        return {fmt::format("dcmon refused the token (401: {}). Check api_token: it must be a "
                            "token configured on the server (or DCMON_ADMIN_TOKEN)",
                            detail),
                FailureType::kConfigError};
      case 403:
        return {fmt::format("the token lacks a scope (403: {}). Give it the read scope in the "
                            "server's [api.tokens.NAME] scopes",
                            detail),
                FailureType::kConfigError};
      case 404:
        return {fmt::format("{}{} does not exist (404). api_url must be the base URL of dcmon "
                            "serve (scheme, host, port, no path), and the server a dcmon version "
                            "that serves this endpoint",
                            config_.api_url, target.substr(0, target.find('?'))),
                FailureType::kConfigError};
      default:
        return {fmt::format("GET {}: HTTP {}: {}", target, status, detail),
                status == 400 ? FailureType::kConfigError : FailureType::kSystemError};
    }
  }

  const SourceOptions& options_;
  const SourceConfig& config_;
  Emitter& out_;
};

std::string PageTarget(const StreamDef& s, const SourceConfig& config, int64_t cursor,
                       int64_t limit) {
  std::string target = fmt::format("{}?{}={}&limit={}", s.path, s.cursor_param, cursor, limit);
  for (const auto& [stream, filters] : config.filters) {
    if (stream != s.name) continue;
    for (const auto& [param, value] : filters)
      target += fmt::format("&{}={}", param, PercentEncode(value));
  }
  return target;
}

// Writes one API record's declared fields into `w`; `cursor` gets the cursor field's value.
// Returns an error for a value of the wrong type or a missing required field.
Status WriteRecord(const StreamDef& s, od::object record, JsonWriter& w, int64_t& cursor,
                   std::string& unknown) {
  uint32_t seen = 0;
  for (auto member : record) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return InvalidArgument("malformed record");
    od::value v;
    if (member.value().get(v)) return InvalidArgument("malformed record");
    size_t i = 0;
    while (i < s.fields.size() && s.fields[i].name != key) ++i;
    if (i == s.fields.size()) {
      if (unknown.empty() && std::find(s.ignored.begin(), s.ignored.end(), key) == s.ignored.end())
        unknown = key;
      continue;
    }
    const FieldDef& f = s.fields[i];
    bool is_null = false;
    if (v.is_null().get(is_null)) return InvalidArgument(fmt::format("{}: malformed", f.name));
    if (is_null) continue;
    seen |= 1u << i;
    bool bad = false;
    switch (f.type) {
      case FieldType::kString:
      case FieldType::kTimestamp: {
        std::string_view text;
        bad = v.get_string().get(text) != simdjson::SUCCESS;
        if (!bad) {
          w.Key(f.key);
          w.String(text);
        }
        break;
      }
      case FieldType::kNumber: {
        double x = 0;
        bad = v.get_double().get(x) != simdjson::SUCCESS;
        if (!bad) {
          w.Key(f.key);
          w.Double(x);
        }
        break;
      }
      case FieldType::kInteger: {
        int64_t x = 0;
        bad = v.get_int64().get(x) != simdjson::SUCCESS;
        if (!bad) {
          w.Key(f.key);
          w.Int(x);
          if (i == 0) cursor = x;
        }
        break;
      }
      case FieldType::kJsonText: {
        od::object o;
        std::string_view raw;
        bad = v.get_object().get(o) != simdjson::SUCCESS || o.raw_json().get(raw);
        if (!bad) {
          w.Key(f.key);
          w.String(raw);
        }
        break;
      }
    }
    if (bad) return InvalidArgument(fmt::format("{}: not of the declared type", f.name));
  }
  for (size_t i = 0; i < s.fields.size(); ++i) {
    if (s.fields[i].required && !(seen & (1u << i)))
      return InvalidArgument(fmt::format("{}: missing", s.fields[i].name));
  }
  return Status::Ok();
}

// next_cursor read from the end of a page without parsing it, to request the next page while this
// one is emitted. Only a guess: EmitPage's parse decides, and a guess that differs is dropped.
std::optional<int64_t> PeekNextCursor(std::string_view body) {
  constexpr std::string_view kKey = "\"next_cursor\":";
  const size_t at = body.rfind(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  int64_t next = 0;
  const char* p = body.data() + at + kKey.size();
  if (std::from_chars(p, body.data() + body.size(), next).ec != std::errc()) return std::nullopt;
  return next;
}

// Parses one page, emits its records; `next` is next_cursor (nullopt for null).
struct PageResult {
  int64_t records = 0;
  int64_t last_cursor = 0;
  std::optional<int64_t> next;
};

Status EmitPage(const StreamDef& s, od::parser& parser, std::string& body, int64_t after,
                Emitter& out, PageResult& page, std::string& unknown) {
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  od::object top;
  if (parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()))
          .get(doc) ||
      doc.get_object().get(top)) {
    return InvalidArgument("the answer is not a JSON object");
  }
  const int64_t emitted_at = NowMicros() / 1000;
  int64_t previous = after;
  bool has_data = false;
  for (auto member : top) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return InvalidArgument("malformed answer");
    if (key == "data") {
      od::array data;
      if (member.value().get_array().get(data)) return InvalidArgument("data: not an array");
      has_data = true;
      for (auto item : data) {
        od::object record;
        if (item.get_object().get(record)) return InvalidArgument("data: an item is not an object");
        Status status;
        int64_t cursor = 0;
        out.Record(s.name, emitted_at, [&](JsonWriter& w) {
          status = WriteRecord(s, record, w, cursor, unknown);
          return status.ok();
        });
        if (!status.ok()) return status.WithPrefix(fmt::format("record {}: ", page.records + 1));
        // Strictly ascending, and past the cursor asked for.
        if (cursor <= previous || cursor <= after) {
          return InvalidArgument(
              fmt::format("{} {} after {}: the API must return ascending cursors", CursorName(s),
                          cursor, previous));
        }
        previous = cursor;
        ++page.records;
      }
    } else if (key == "next_cursor") {
      od::value v;
      bool is_null = false;
      if (member.value().get(v) || v.is_null().get(is_null))
        return InvalidArgument("next_cursor: malformed");
      if (!is_null) {
        int64_t next = 0;
        if (v.get_int64().get(next)) return InvalidArgument("next_cursor: not an integer");
        page.next = next;
      }
    }
  }
  if (!has_data) return InvalidArgument("no data array");
  page.last_cursor = previous;
  return Status::Ok();
}

Result<int64_t> IntMember(simdjson::dom::object o, std::string_view name, int64_t fallback,
                          int64_t min, int64_t max) {
  simdjson::dom::element e;
  if (o[name].get(e) || e.is_null()) return fallback;
  int64_t x = 0;
  if (e.get_int64().get(x) || x < min || x > max)
    return InvalidArgument(fmt::format("{}: expected an integer from {} to {}", name, min, max));
  return x;
}

void WriteSchema(const StreamDef& s, JsonWriter& w) {
  w.BeginObject();
  w.Key("$schema");
  w.String("http://json-schema.org/draft-07/schema#");
  w.Key("type");
  w.String("object");
  w.Key("additionalProperties");
  w.Bool(false);
  w.Key("required");
  w.BeginArray();
  for (const FieldDef& f : s.fields) {
    if (f.required) w.String(f.name);
  }
  w.EndArray();
  w.Key("properties");
  w.BeginObject();
  for (const FieldDef& f : s.fields) {
    w.Key(f.key);
    w.BeginObject();
    w.Key("description");
    w.String(f.doc);
    std::string_view type = "string";
    if (f.type == FieldType::kNumber) type = "number";
    if (f.type == FieldType::kInteger) type = "integer";
    w.Key("type");
    if (f.required) {
      w.String(type);
    } else {
      w.BeginArray();
      w.String("null");
      w.String(type);
      w.EndArray();
    }
    if (f.type == FieldType::kTimestamp) {
      w.Key("format");
      w.String("date-time");
      w.Key("airbyte_type");
      w.String("timestamp_with_timezone");
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
}

}  // namespace

Status SourceOptions::Validate() const {
  if (max_retries < 0 || max_retries > 100)
    return InvalidArgument("max_retries: expected 0 .. 100");
  if (initial_backoff.count() < 1) return InvalidArgument("initial_backoff: must be positive");
  if (max_backoff < initial_backoff)
    return InvalidArgument("max_backoff: must be at least initial_backoff");
  if (request_timeout.count() < 1) return InvalidArgument("request_timeout: must be positive");
  return Status::Ok();
}

Result<SourceConfig> ParseConfig(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(json.data(), json.size()).get(o))
    return InvalidArgument("config: not a JSON object");
  SourceConfig c;
  std::string_view url, token;
  if (o["api_url"].get(url) || url.empty()) return InvalidArgument("api_url: missing (a string)");
  if (o["api_token"].get(token) || token.empty())
    return InvalidArgument("api_token: missing (a string)");
  const size_t scheme = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  if (scheme == 0 || url.size() <= scheme) {
    return InvalidArgument(
        fmt::format("api_url: expected http://host:port or https://host:port, got \"{}\"", url));
  }
  while (url.ends_with('/')) url.remove_suffix(1);
  if (url.find('/', scheme) != std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "api_url: expected the server's base URL without a path (http://host:port), got \"{}\"",
        url));
  }
  c.api_url = url;
  c.api_token = token;
  simdjson::dom::element ca_file;
  if (o["ca_file"].get(ca_file) == simdjson::SUCCESS && !ca_file.is_null()) {
    std::string_view path;
    if (ca_file.get(path)) return InvalidArgument("ca_file: expected a string (a file path)");
    c.ca_file = path;
  }
  Result<int64_t> start = IntMember(o, "start_cursor", 0, 0, INT64_MAX);
  if (!start.ok()) return start.status();
  c.start_cursor = *start;
  Result<int64_t> page = IntMember(o, "page_size", c.page_size, 1, 10000);
  if (!page.ok()) return page.status();
  c.page_size = *page;
  simdjson::dom::object streams;
  if (o["streams"].get(streams) == simdjson::SUCCESS) {
    for (auto [name, value] : streams) {
      const StreamDef* s = FindStream(name);
      simdjson::dom::object options;
      if (!s) {
        return InvalidArgument(
            fmt::format("streams.{}: not a stream (streams: {})", name, StreamNames()));
      }
      if (value.get(options))
        return InvalidArgument(fmt::format("streams.{}: not an object", name));
      std::vector<std::pair<std::string, std::string>> filters;
      for (auto [option, v] : options) {
        std::string_view text;
        if (std::find(s->filters.begin(), s->filters.end(), option) == s->filters.end() ||
            v.get(text)) {
          return InvalidArgument(
              fmt::format("streams.{}.{}: not a filter of this stream (a string)", name, option));
        }
        if (!text.empty()) filters.emplace_back(option, text);
      }
      c.filters.emplace_back(std::string(name), std::move(filters));
    }
  }
  return c;
}

Result<std::vector<ConfiguredStream>> ParseCatalog(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::array streams;
  if (parser.parse(json.data(), json.size())["streams"].get(streams))
    return InvalidArgument("catalog: expected an object with a streams array");
  std::vector<ConfiguredStream> out;
  for (simdjson::dom::element e : streams) {
    std::string_view name, mode;
    if (e["stream"]["name"].get(name))
      return InvalidArgument("catalog: a configured stream has no stream.name");
    if (e["sync_mode"].get(mode) || (mode != "full_refresh" && mode != "incremental")) {
      return InvalidArgument(fmt::format(
          "catalog: {}: sync_mode: expected \"full_refresh\" or \"incremental\"", name));
    }
    out.push_back({std::string(name), mode == "incremental"});
  }
  return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> ParseState(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc))
    return InvalidArgument("state: not valid JSON");
  std::vector<std::pair<std::string, int64_t>> out;
  simdjson::dom::array messages;
  if (doc.is_null()) return out;
  if (doc.get(messages)) return InvalidArgument("state: expected an array of STATE messages");
  for (simdjson::dom::element m : messages) {
    std::string_view type, name;
    simdjson::dom::object stream_state;
    if (m["type"].get(type) || type != "STREAM")
      return InvalidArgument("state: only STREAM state is supported (type: \"STREAM\")");
    if (m["stream"]["stream_descriptor"]["name"].get(name))
      return InvalidArgument("state: stream.stream_descriptor.name: missing");
    const StreamDef* s = FindStream(name);
    if (!s) continue;  // a stream this version no longer has: nothing to resume
    if (m["stream"]["stream_state"].get(stream_state)) continue;  // no state yet
    Result<int64_t> cursor = IntMember(stream_state, CursorName(*s), -1, 0, INT64_MAX);
    if (!cursor.ok()) return cursor.status().WithPrefix(fmt::format("state: {}: ", name));
    if (*cursor >= 0) out.emplace_back(std::string(name), *cursor);
  }
  return out;
}

std::optional<int64_t> RetryAfterSeconds(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  int64_t s = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), s);
  if (ec != std::errc() || end != header.data() + header.size() || s < 0) return std::nullopt;
  return s;
}

void Source::Spec(Emitter& out) const {
  // Written readable above; one line on the wire.
  std::string spec(kConnectionSpecification.size(), '\0');
  size_t length = 0;
  if (simdjson::minify(kConnectionSpecification.data(), kConnectionSpecification.size(),
                       spec.data(), length)) {
    std::fprintf(stderr, "CHECK failed: the connection specification is not valid JSON\n");
    std::abort();
  }
  spec.resize(length);
  out.Spec(spec, kDocumentationUrl);
}

void Source::Check(std::string_view config_json, Emitter& out) const {
  Result<SourceConfig> config = ParseConfig(config_json);
  if (!config.ok()) return out.ConnectionStatus(false, config.status().message());
  Client client(options_, *config, out);
  for (const StreamDef& s : kStreams) {
    std::string body;
    Failure failure;
    if (!client.Get(fmt::format("{}?limit=1", s.path), {}, 0, body, failure))
      return out.ConnectionStatus(false, failure.message);
  }
  out.ConnectionStatus(true, "");
}

void Source::Discover(Emitter& out) const {
  std::string streams;
  {
    JsonWriter w(streams);
    w.BeginArray();
    for (const StreamDef& s : kStreams) {
      w.BeginObject();
      w.Key("name");
      w.String(s.name);
      w.Key("json_schema");
      WriteSchema(s, w);
      w.Key("supported_sync_modes");
      w.BeginArray();
      w.String("full_refresh");
      w.String("incremental");
      w.EndArray();
      w.Key("source_defined_cursor");
      w.Bool(true);
      w.Key("default_cursor_field");
      w.BeginArray();
      w.String(CursorName(s));
      w.EndArray();
      w.Key("source_defined_primary_key");
      w.BeginArray();
      for (std::string_view k : s.primary_key) {
        w.BeginArray();
        w.String(k);
        w.EndArray();
      }
      w.EndArray();
      w.Key("is_resumable");
      w.Bool(true);
      w.EndObject();
    }
    w.EndArray();
  }
  out.Catalog(streams);
}

bool Source::Read(const SourceConfig& config, std::string_view catalog_json,
                  std::optional<std::string_view> state_json, Emitter& out) const {
  Result<std::vector<ConfiguredStream>> catalog = ParseCatalog(catalog_json);
  if (!catalog.ok()) {
    out.Error(catalog.status().message(), FailureType::kConfigError);
    return false;
  }
  std::vector<std::pair<std::string, int64_t>> state;
  if (state_json) {
    Result<std::vector<std::pair<std::string, int64_t>>> parsed = ParseState(*state_json);
    if (!parsed.ok()) {
      out.Error(parsed.status().message(), FailureType::kConfigError);
      return false;
    }
    state = std::move(*parsed);
  }
  Client client(options_, config, out);
  od::parser parser;
  bool all_ok = true;
  for (const ConfiguredStream& configured : *catalog) {
    const StreamDef* s = FindStream(configured.name);
    if (!s) {
      out.Error(fmt::format("stream \"{}\" is not a stream of this source (streams: {}); refresh "
                            "the connection's schema",
                            configured.name, StreamNames()),
                FailureType::kConfigError, configured.name);
      all_ok = false;
      continue;
    }
    int64_t cursor = config.start_cursor;
    if (configured.incremental) {
      for (const auto& [name, value] : state) {
        if (name == s->name) cursor = value;
      }
    }
    out.StreamStatus(s->name, StreamState::kStarted);
    out.Log("INFO", fmt::format("{}: {} read after {} {}", s->name,
                                configured.incremental ? "incremental" : "full refresh",
                                CursorName(*s), cursor));
    int64_t total = 0;
    bool running = false;
    std::string unknown;
    std::optional<Failure> failed;
    std::string body;
    // The next page, requested on another thread while this one is emitted (the API and the
    // connector then work at once): one attempt, for the cursor PeekNextCursor guessed. When it did
    // not answer 200 for the cursor wanted, the page is fetched again by Get, with its retries.
    std::optional<std::pair<int64_t, std::future<Result<api::HttpResponse>>>> ahead;
    for (;;) {
      bool fetched = false;
      if (ahead && ahead->first == cursor) {
        Result<api::HttpResponse> r = ahead->second.get();
        if (r.ok() && r->status == 200) {
          body = std::move(r->body);
          fetched = true;
        }
      }
      ahead.reset();
      Failure failure;
      if (!fetched && !client.Get(PageTarget(*s, config, cursor, config.page_size), s->name,
                                  options_.max_retries, body, failure)) {
        failed = std::move(failure);
        break;
      }
      if (const std::optional<int64_t> next = PeekNextCursor(body); next && *next > cursor) {
        ahead.emplace(
            *next, std::async(std::launch::async,
                              [&client, target = PageTarget(*s, config, *next, config.page_size)] {
                                return client.Attempt(target);
                              }));
      }
      if (!running) {
        out.StreamStatus(s->name, StreamState::kRunning);
        running = true;
      }
      PageResult page;
      if (Status st = EmitPage(*s, parser, body, cursor, out, page, unknown); !st.ok()) {
        failed = Failure{fmt::format("{}: the API's page after {} {} is malformed: {}", s->path,
                                     CursorName(*s), cursor, st.message()),
                         FailureType::kSystemError};
        break;
      }
      if (page.records > 0) {
        cursor = page.last_cursor;
        total += page.records;
        out.State(s->name, s->fields.front().key, cursor, page.records);
      }
      out.Flush();
      if (!page.next) break;
      cursor = std::max(cursor, *page.next);
    }
    if (!unknown.empty()) {
      out.Log("WARN", fmt::format("{}: records carry fields outside the stream's schema (e.g. "
                                  "\"{}\"); they are not emitted",
                                  s->name, unknown));
    }
    if (failed) {
      out.Error(failed->message, failed->type, s->name);
      out.StreamStatus(s->name, StreamState::kIncomplete);
      all_ok = false;
    } else {
      if (total == 0) out.State(s->name, s->fields.front().key, cursor, 0);
      out.Log("INFO",
              fmt::format("{}: {} records, now at {} {}", s->name, total, CursorName(*s), cursor));
      out.StreamStatus(s->name, StreamState::kComplete);
    }
    out.Flush();
  }
  return all_ok;
}

}  // namespace dcmon::airbyte
