#include "core/record_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "core/time.h"

namespace dcmon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> SeedLines() {
  std::ifstream in(DCMON_TEST_DATA_DIR "/seed_records.ndjson");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

constexpr int64_t kSeedTime = 1755794880LL * 1000000;  // 2025-08-21T16:48:00Z

TEST(RecordJson, SeedSensorLineDecodesUnchanged) {
  const auto lines = SeedLines();
  ASSERT_EQ(lines.size(), 2u);
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(lines[0]);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = std::get<SensorReading>(*r);
  EXPECT_EQ(s.device_id, "temp_rack-a1");
  EXPECT_EQ(s.location, "Server Room A");
  EXPECT_EQ(s.measurement_type, "temperature");
  EXPECT_EQ(s.value, 23.5);
  EXPECT_EQ(s.timestamp_micros, kSeedTime);
  EXPECT_TRUE(s.unit.empty());
  EXPECT_FALSE(s.seq.has_value());
  EXPECT_TRUE(s.extra.empty());
}

TEST(RecordJson, SeedCoolingLineDecodesUnchanged) {
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(SeedLines()[1]);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& c = std::get<CoolingMetric>(*r);
  EXPECT_EQ(c.system_id, "hvac_primary_a");
  EXPECT_EQ(c.efficiency_percent, 89.2);
  EXPECT_EQ(c.power_consumption_watts, 16800);
  EXPECT_EQ(c.timestamp_micros, kSeedTime);
  EXPECT_FALSE(c.fan_speed_percent.has_value());
}

// Encoding a seed record gives back the same fields and values (key order and spacing aside).
TEST(RecordJson, SeedLinesEncodeToTheSameValues) {
  RecordDecoder decoder;
  EXPECT_EQ(RecordToJson(*decoder.Decode(SeedLines()[0])),
            R"({"source_type":"sensor","device_id":"temp_rack-a1","location":"Server Room A",)"
            R"("measurement_type":"temperature","value":23.5,"timestamp":"2025-08-21T16:48:00Z"})");
  EXPECT_EQ(RecordToJson(*decoder.Decode(SeedLines()[1])),
            R"({"source_type":"cooling","system_id":"hvac_primary_a","efficiency_percent":89.2,)"
            R"("power_consumption_watts":16800,"timestamp":"2025-08-21T16:48:00Z"})");
}

TEST(RecordJson, OptionalFields) {
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(
      R"({"source_type":"sensor","device_id":"r01-inlet-top","location":"Room 1","measurement_type":"temperature",)"
      R"("value":24.25,"timestamp":"2025-08-21T18:48:00.250+02:00","unit":"celsius","seq":42,"site":"ams1",)"
      R"("room":"room-1","row":"A","rack":"A01","position":"inlet_top"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = std::get<SensorReading>(*r);
  EXPECT_EQ(s.timestamp_micros, kSeedTime + 250000);
  EXPECT_EQ(s.unit, "celsius");
  EXPECT_EQ(s.seq, 42);
  EXPECT_EQ(s.placement, (Placement{"ams1", "room-1", "A", "A01"}));
  EXPECT_EQ(s.position, "inlet_top");

  r = decoder.Decode(
      R"({"timestamp":"2025-08-21T16:48:00Z","source_type":"cooling","system_id":"crah-1","efficiency_percent":0,)"
      R"("power_consumption_watts":4200.5,"supply_air_temp_celsius":18.5,"return_air_temp_celsius":null,)"
      R"("fan_speed_percent":72.5,"room":"room-1"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& c = std::get<CoolingMetric>(*r);
  EXPECT_EQ(c.supply_air_temp_celsius, 18.5);
  EXPECT_FALSE(c.return_air_temp_celsius.has_value()) << "null is the same as absent";
  EXPECT_EQ(c.fan_speed_percent, 72.5);
  EXPECT_EQ(c.placement.room, "room-1");
}

// The documented rule: unknown top-level fields are kept verbatim in `extra` and written back on
// encode.
TEST(RecordJson, UnknownFieldsAreKeptVerbatim) {
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(
      R"({"source_type":"sensor","device_id":"d","location":"l","measurement_type":"m","value":1,)"
      R"("timestamp":"2025-08-21T16:48:00Z","firmware":"v2.1","calibrated":true,"tags":{"a":[1,2.5,null]},"n":1e3})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = std::get<SensorReading>(*r);
  EXPECT_EQ(s.extra, R"({"firmware":"v2.1","calibrated":true,"tags":{"a":[1,2.5,null]},"n":1e3})");
  EXPECT_THAT(
      RecordToJson(*r),
      HasSubstr(R"("firmware":"v2.1","calibrated":true,"tags":{"a":[1,2.5,null]},"n":1e3})"));
  Result<Record> again = decoder.Decode(RecordToJson(*r));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, *r);
}

const char kSensorHead[] =
    R"({"source_type":"sensor","device_id":"d","location":"l","measurement_type":"m",)";
const char kCoolingHead[] = R"({"source_type":"cooling","system_id":"c","efficiency_percent":90,)";

std::string Sensor(std::string_view rest) { return std::string(kSensorHead) + std::string(rest); }
std::string Cooling(std::string_view rest) { return std::string(kCoolingHead) + std::string(rest); }

struct Malformed {
  std::string name;
  std::string json;
  std::string error;  // the message must start with this (field, then reason)
};

std::vector<Malformed> MalformedCases() {
  const std::string ts = R"("timestamp":"2025-08-21T16:48:00Z")";
  return {
      {"empty", "", "record: empty input"},
      {"whitespace", "   ", "record: empty input"},
      {"not_json", "hello", "record: malformed JSON"},
      {"truncated", Sensor(R"("value":1,)" + ts).substr(0, 60), "record: malformed JSON"},
      {"array", "[1,2]", "record: expected a JSON object, got array"},
      {"string", R"("sensor")", "record: expected a JSON object, got string"},
      {"trailing_object", Sensor(R"("value":1,)" + ts + "}") + R"({"a":1})",
       "record: unexpected content"},
      {"missing_source_type", R"({"device_id":"d","value":1})", "source_type: missing"},
      {"null_source_type", R"({"source_type":null})", "source_type: missing"},
      {"unknown_source_type", R"({"source_type":"pdu","device_id":"d"})",
       "source_type: unknown value \"pdu\""},
      {"source_type_number", R"({"source_type":1})", "source_type: expected a string, got number"},
      {"missing_value", Sensor(ts + "}"), "value: missing (required for sensor records)"},
      {"missing_timestamp", Sensor(R"("value":1})"), "timestamp: missing"},
      {"missing_device_id",
       R"({"source_type":"sensor","location":"l","measurement_type":"m","value":1,)" + ts + "}",
       "device_id: missing"},
      {"missing_efficiency",
       R"({"source_type":"cooling","system_id":"c","power_consumption_watts":1,)" + ts + "}",
       "efficiency_percent: missing (required for cooling records)"},
      {"value_string", Sensor(R"("value":"23.5",)" + ts + "}"),
       "value: expected a number, got string"},
      {"value_bool", Sensor(R"("value":true,)" + ts + "}"),
       "value: expected a number, got boolean"},
      {"value_array", Sensor(R"("value":[1],)" + ts + "}"), "value: expected a number, got array"},
      {"value_nan_literal", Sensor(R"("value":NaN,)" + ts + "}"), "value: not a JSON value"},
      {"value_infinity_literal", Sensor(R"("value":-Infinity,)" + ts + "}"),
       "value: not a representable number"},
      {"unknown_field_nan", Sensor(R"("value":1,"x":NaN,)" + ts + "}"), "x: malformed value"},
      {"value_overflow", Sensor(R"("value":1e400,)" + ts + "}"),
       "value: not a representable number"},
      {"value_leading_zero", Sensor(R"("value":01,)" + ts + "}"),
       "value: not a representable number"},
      {"value_bare_minus", Sensor(R"("value":-,)" + ts + "}"), "value:"},
      {"timestamp_number", Sensor(R"("value":1,"timestamp":1755794880})"),
       "timestamp: expected an RFC 3339 string"},
      {"timestamp_no_zone", Sensor(R"("value":1,"timestamp":"2025-08-21T16:48:00"})"),
       "timestamp: \"2025-08-21T16:48:00\": not an RFC 3339 timestamp: missing time zone"},
      {"timestamp_bad_date", Sensor(R"("value":1,"timestamp":"2025-02-30T00:00:00Z"})"),
       "timestamp: "},
      {"timestamp_too_old", Sensor(R"("value":1,"timestamp":"1969-07-20T20:17:00Z"})"),
       "timestamp: "},
      {"timestamp_too_new", Sensor(R"("value":1,"timestamp":"2400-01-01T00:00:00Z"})"),
       "timestamp: "},
      {"timestamp_garbage", Sensor(R"("value":1,"timestamp":"yesterday"})"),
       "timestamp: \"yesterday\""},
      {"duplicate_field", Sensor(R"("value":1,"value":2,)" + ts + "}"), "value: duplicate field"},
      {"duplicate_unknown_field", Sensor(R"("value":1,"x":1,"x":2,)" + ts + "}"),
       "x: duplicate field"},
      {"empty_device_id",
       R"({"source_type":"sensor","device_id":"","location":"l","measurement_type":"m","value":1,)" +
           ts + "}",
       "device_id: must not be empty"},
      {"control_char_in_id",
       R"({"source_type":"sensor","device_id":"a\u0001b","location":"l","measurement_type":"m",)"
       R"("value":1,)" +
           ts + "}",
       "device_id: contains a control character"},
      {"long_id",
       R"({"source_type":"sensor","device_id":")" + std::string(300, 'x') +
           R"(","location":"l","measurement_type":"m","value":1,)" + ts + "}",
       "device_id: longer than 256 bytes"},
      {"invalid_utf8_in_value", Sensor(R"("value":1,)" + ts + ",\"unit\":\"\xff\xfe\"}"),
       "unit: invalid UTF-8 at byte"},
      {"invalid_utf8_overlong", Sensor(R"("value":1,)" + ts + ",\"unit\":\"\xc0\xaf\"}"),
       "unit: invalid UTF-8"},
      {"invalid_utf8_surrogate", Sensor(R"("value":1,)" + ts + ",\"unit\":\"\xed\xa0\x80\"}"),
       "unit: invalid UTF-8"},
      {"bad_escape", Sensor(R"("value":1,)" + ts + R"(,"unit":"\q"})"), "unit: malformed string"},
      {"sensor_field_on_cooling", Cooling(R"("power_consumption_watts":1,"value":3,)" + ts + "}"),
       "value: not a field of cooling records"},
      {"cooling_field_on_sensor", Sensor(R"("value":1,"fan_speed_percent":50,)" + ts + "}"),
       "fan_speed_percent: not a field of sensor records"},
      {"efficiency_over_100",
       R"({"source_type":"cooling","system_id":"c","efficiency_percent":120,)"
       R"("power_consumption_watts":1,)" +
           ts + "}",
       "efficiency_percent: 120 is out of range 0..100"},
      {"negative_power", Cooling(R"("power_consumption_watts":-5,)" + ts + "}"),
       "power_consumption_watts: -5 is out of range"},
      {"fan_over_100",
       Cooling(R"("power_consumption_watts":1,"fan_speed_percent":101,)" + ts + "}"),
       "fan_speed_percent: 101 is out of range"},
      {"seq_negative", Sensor(R"("value":1,"seq":-1,)" + ts + "}"), "seq: must not be negative"},
      {"seq_fraction", Sensor(R"("value":1,"seq":1.5,)" + ts + "}"), "seq: expected an integer"},
      {"seq_too_big", Sensor(R"("value":1,"seq":99999999999999999999,)" + ts + "}"),
       "seq: integer out of range"},
      {"seq_above_int64", Sensor(R"("value":1,"seq":18446744073709551615,)" + ts + "}"),
       "seq: integer out of range"},
      {"trailing_scalar", Sensor(R"("value":1,)" + ts + "} x"), "record: unexpected content"},
      {"unknown_field_huge_integer",
       Sensor(R"("value":1,"x":123456789012345678901234567890,)" + ts + "}"),
       "x: malformed value (numbers must fit"},
      {"unknown_field_bad_number", Sensor(R"("value":1,"x":[1,01],)" + ts + "}"),
       "x: malformed value"},
      {"unknown_field_bad_literal", Sensor(R"("value":1,"x":tru,)" + ts + "}"),
       "x: malformed value"},
      {"unquoted_key", R"({source_type:"sensor"})", "record: malformed JSON"},
      {"unclosed_string", R"({"source_type":"sensor)", "record: malformed JSON"},
  };
}

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

class MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedTest, RejectedWithFieldAndReason) {
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(GetParam().json);
  ASSERT_FALSE(r.ok()) << GetParam().json << " decoded";
  EXPECT_THAT(r.status().message(), StartsWith(GetParam().error)) << GetParam().json;
  // The decoder is usable after any error.
  EXPECT_TRUE(decoder.Decode(SeedLines()[0]).ok());
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedTest, ::testing::ValuesIn(MalformedCases()),
                         [](const auto& info) { return info.param.name; });

TEST(RecordJson, AtLeastThirtyMalformedCases) { EXPECT_GE(MalformedCases().size(), 30u); }

TEST(RecordJson, OversizeRecordRejected) {
  RecordDecoder decoder(DecodeLimits{.max_record_bytes = 1024});
  std::string big = Sensor(R"("value":1,"timestamp":"2025-08-21T16:48:00Z","pad":")" +
                           std::string(2000, 'x') + "\"}");
  Result<Record> r = decoder.Decode(big);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), StartsWith("record: "));
  EXPECT_THAT(r.status().message(), HasSubstr("exceeds the 1024-byte limit"));
}

// Regression: pretty-printed unknown objects kept their newlines and the encoder wrote two NDJSON
// lines.
TEST(RecordJson, UnknownFieldsAreKeptMinified) {
  RecordDecoder decoder;
  Result<Record> r =
      decoder.Decode(Sensor("\"value\":1,\"timestamp\":\"2025-08-21T16:48:00Z\",\n  \"meta\": {\n  "
                            "  \"a\": [1, \"x y\"]\n  } ,\n  "
                            "\"n\": 5 \n}"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(std::get<SensorReading>(*r).extra, R"({"meta":{"a":[1,"x y"]},"n":5})");
  EXPECT_EQ(RecordToJson(*r).find('\n'), std::string::npos);
}

// Regression: a reason quoting a long value cut a multi-byte character in half.
TEST(RecordJson, ReasonsAreValidUtf8) {
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(R"({"source_type":")" + std::string(63, 'a') + "\xc3\xa9\"}");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_THAT(m, HasSubstr("aaa...\""));
  EXPECT_EQ(m.find('\xc3'), std::string::npos) << m;
}

TEST(RecordJson, TooManyUnknownFields) {
  std::string json = Sensor(R"("value":1,"timestamp":"2025-08-21T16:48:00Z")");
  for (int i = 0; i < 40; ++i) json += ",\"x" + std::to_string(i) + "\":" + std::to_string(i);
  json += "}";
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(json);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "record: more than 32 unknown fields");
}

TEST(RecordJson, EscapedKeysAndValues) {
  RecordDecoder decoder;
  Result<Record> r = decoder.Decode(
      R"({"source_type":"sensor","dev\u0069ce_id":"rack \"A\" \u00e9","location":"l","measurement_type":"m",)"
      R"("value":-0.0,"timestamp":"2025-08-21T16:48:00Z"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(std::get<SensorReading>(*r).device_id, "rack \"A\" \xc3\xa9");
}

TEST(Ndjson, PerLineResultsWithLineNumbers) {
  const auto seed = SeedLines();
  std::string body = seed[0] + "\n" + "{not json}\n" + "\n" + seed[1] + "\r\n" +
                     Sensor(R"("value":"x","timestamp":"2025-08-21T16:48:00Z"})") + "\n" + seed[0];
  RecordDecoder decoder;
  NdjsonBatch batch;
  decoder.DecodeNdjson(body, batch);
  EXPECT_EQ(batch.lines, 5);
  ASSERT_EQ(batch.records.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<SensorReading>(batch.records[0]));
  EXPECT_TRUE(std::holds_alternative<CoolingMetric>(batch.records[1]));
  ASSERT_EQ(batch.rejects.size(), 2u);
  EXPECT_EQ(batch.rejects[0].line, 2);
  EXPECT_THAT(batch.rejects[0].reason, StartsWith("line 2: record: malformed JSON"));
  EXPECT_EQ(batch.rejects[0].raw, "{not json}");
  EXPECT_EQ(batch.rejects[1].line, 5);
  EXPECT_EQ(batch.rejects[1].reason, "line 5: value: expected a number, got string");
}

TEST(Ndjson, ThousandBadLinesAmongGoodOnes) {
  const auto seed = SeedLines();
  std::string body;
  for (int i = 0; i < 1000; ++i)
    body +=
        seed[i % 2] + "\n" + "{\"source_type\":\"sensor\",\"value\":" + std::to_string(i) + "}\n";
  RecordDecoder decoder;
  NdjsonBatch batch;
  decoder.DecodeNdjson(body, batch, 101);
  EXPECT_EQ(batch.records.size(), 1000u);
  ASSERT_EQ(batch.rejects.size(), 1000u);
  EXPECT_EQ(batch.rejects.front().line, 102);
  EXPECT_EQ(batch.rejects.back().line, 2100);
}

TEST(Ndjson, CarriageReturnOnlyLinesAreBlank) {
  RecordDecoder decoder;
  NdjsonBatch batch;
  decoder.DecodeNdjson("\r\r\n" + SeedLines()[0] + "\r\n\r\n", batch);
  EXPECT_EQ(batch.lines, 1);
  EXPECT_EQ(batch.records.size(), 1u);
  EXPECT_TRUE(batch.rejects.empty());
}

TEST(Ndjson, OversizeLineIsCutInTheReject) {
  RecordDecoder decoder(DecodeLimits{.max_record_bytes = 200});
  NdjsonBatch batch;
  decoder.DecodeNdjson(std::string(500, 'x') + "\n" + SeedLines()[1], batch);
  ASSERT_EQ(batch.rejects.size(), 1u);
  EXPECT_EQ(batch.rejects[0].raw.size(), 200u);
  EXPECT_EQ(batch.records.size(), 1u);
}

// Random records, including awkward strings and doubles, survive encode -> decode exactly.
class RecordGenerator {
 public:
  explicit RecordGenerator(uint64_t seed) : rng_(seed) {}

  Record Next() {
    if (Coin()) {
      SensorReading s{.device_id = Str(1),
                      .location = Str(1),
                      .measurement_type = Str(1),
                      .value = Dbl(),
                      .timestamp_micros = Time()};
      if (Coin()) s.unit = Str(1);
      if (Coin()) s.seq = std::uniform_int_distribution<int64_t>(0, INT64_MAX)(rng_);
      s.placement = Place();
      if (Coin()) s.position = Str(1);
      if (Coin()) s.extra = R"({"fw":"1.2","x":[1,{"y":null}]})";
      return s;
    }
    CoolingMetric c{.system_id = Str(1),
                    .efficiency_percent = Unit() * 100,
                    .power_consumption_watts = Unit() * 1e6,
                    .timestamp_micros = Time()};
    if (Coin()) c.seq = std::uniform_int_distribution<int64_t>(0, 1 << 20)(rng_);
    c.placement = Place();
    if (Coin()) c.supply_air_temp_celsius = Dbl();
    if (Coin()) c.return_air_temp_celsius = Dbl();
    if (Coin()) c.fan_speed_percent = Unit() * 100;
    return c;
  }

 private:
  bool Coin() { return rng_() & 1; }
  double Unit() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int64_t Time() {
    return std::uniform_int_distribution<int64_t>(kMinTimestampMicros,
                                                  kMaxTimestampMicros - 1)(rng_);
  }
  // Any finite double, from its bits: subnormals, huge and tiny magnitudes, negative zero.
  double Dbl() {
    for (;;) {
      const uint64_t bits = rng_();
      double d;
      std::memcpy(&d, &bits, sizeof d);
      if (std::isfinite(d)) return d;
    }
  }
  // Printable ASCII, escapes and multi-byte UTF-8.
  std::string Str(size_t min_len) {
    static const std::vector<std::string> kPieces = {"a",  "Z", "9", "-", "_", " ", "\"",
                                                     "\\", "/", "é", "€", "😀", "{", "}"};
    const size_t n = std::uniform_int_distribution<size_t>(min_len, 24)(rng_);
    std::string s;
    while (s.size() < n) s += kPieces[rng_() % kPieces.size()];
    return s;
  }
  Placement Place() {
    Placement p;
    if (Coin()) p.site = Str(1);
    if (Coin()) p.room = Str(1);
    if (Coin()) p.row = Str(1);
    if (Coin()) p.rack = Str(1);
    return p;
  }

  std::mt19937_64 rng_;
};

TEST(RecordJson, RoundTripProperty) {
  RecordGenerator gen(20251128);
  RecordDecoder decoder;
  for (int i = 0; i < 20000; ++i) {
    const Record r = gen.Next();
    const std::string json = RecordToJson(r);
    Result<Record> back = decoder.Decode(json);
    ASSERT_TRUE(back.ok()) << json << ": " << back.status().message();
    ASSERT_EQ(*back, r) << json;
    ASSERT_EQ(RecordToJson(*back), json);
  }
}

// DecodeInto reuses the record it is given, as the loader does batch after batch: whatever the
// record held before (the other kind, longer strings, optional fields, an error's leftovers), it
// ends up equal to what Decode gives. Strings with and without escapes, so both the in-place and
// the unescaping read are covered.
TEST(RecordJson, DecodeIntoAReusedRecordEqualsDecode) {
  RecordGenerator gen(20251201);
  std::printf("seed 20251201\n");
  RecordDecoder decoder;
  Record reused;
  for (int i = 0; i < 20000; ++i) {
    const Record r = gen.Next();
    const std::string json = RecordToJson(r);
    if (i % 7 == 0) {
      ASSERT_FALSE(
          decoder.DecodeInto(R"({"source_type":"sensor","device_id":"x","value":"no"})", reused)
              .ok());
    }
    Status s = decoder.DecodeInto(json, reused);
    ASSERT_TRUE(s.ok()) << json << ": " << s.message();
    ASSERT_EQ(reused, r) << json;
  }
}

TEST(SensorJsonTemplate, ByteIdenticalToTheEncoder) {
  RecordGenerator gen(11);
  std::mt19937_64 rng(5);
  int checked = 0;
  while (checked < 5000) {
    Record r = gen.Next();
    auto* s = std::get_if<SensorReading>(&r);
    if (!s) continue;
    SensorJsonTemplate t(*s);
    for (int i = 0; i < 3; ++i) {
      s->value = std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
      s->timestamp_micros = std::uniform_int_distribution<int64_t>(0, kMaxTimestampMicros - 1)(rng);
      s->seq = std::uniform_int_distribution<int64_t>(0, INT64_MAX)(rng);
      std::string out = "x";
      t.Append(s->value, s->timestamp_micros, *s->seq, out);
      ASSERT_EQ(out, "x" + RecordToJson(r));
    }
    ++checked;
  }
}

TEST(RecordJson, RoundTripThroughNdjson) {
  RecordGenerator gen(7);
  std::vector<Record> records;
  std::string body;
  for (int i = 0; i < 2000; ++i) {
    records.push_back(gen.Next());
    AppendRecordJson(records.back(), body);
    body += '\n';
  }
  RecordDecoder decoder;
  NdjsonBatch batch;
  decoder.DecodeNdjson(body, batch);
  EXPECT_TRUE(batch.rejects.empty()) << batch.rejects[0].reason;
  EXPECT_EQ(batch.records, records);
}

// Values are kept as sent: negative zero in known fields, and unknown fields' numbers in their own
// spelling (1E2 stays 1E2, -0 stays -0), whether the record came as an NDJSON line or as the
// minified text of a JSON array element (what HTTP ingest produces to Kafka).
TEST(RecordJson, ValuesAreKeptAsSent) {
  const std::string pretty =
      "{ \"source_type\": \"sensor\", \"device_id\": \"d\", \"location\": \"l\",\n"
      "  \"measurement_type\": \"m\", \"value\": -0, \"timestamp\": \"2025-08-21T16:48:00Z\",\n"
      "  \"a\": 1E2, \"b\": -0, \"c\": -0.0, \"d\": 1.0, \"e\": [ 0.1e1, -0 ], \"f\": {\"g\": "
      "2E-3} }";
  const std::string kept = R"({"a":1E2,"b":-0,"c":-0.0,"d":1.0,"e":[0.1e1,-0],"f":{"g":2E-3}})";
  RecordDecoder decoder;
  std::string minified(pretty.size(), '\0');
  size_t length = 0;
  ASSERT_EQ(simdjson::minify(pretty.data(), pretty.size(), minified.data(), length),
            simdjson::SUCCESS);
  minified.resize(length);
  NdjsonBatch batch;
  decoder.DecodeNdjson(minified + "\n" +
                           Cooling(R"("power_consumption_watts":-0,)"
                                   R"("fan_speed_percent":-0.0,)"
                                   R"("timestamp":"2025-08-21T16:48:00Z","x":-0})"),
                       batch);
  ASSERT_TRUE(batch.rejects.empty()) << batch.rejects[0].reason;
  ASSERT_EQ(batch.records.size(), 2u);
  for (const std::string& text : {pretty, minified}) {
    Result<Record> r = decoder.Decode(text);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, batch.records[0]);
    const auto& s = std::get<SensorReading>(*r);
    EXPECT_TRUE(std::signbit(s.value));
    EXPECT_EQ(s.extra, kept);
    EXPECT_THAT(RecordToJson(*r), HasSubstr(R"("value":-0,)"));
    EXPECT_THAT(RecordToJson(*r), HasSubstr(kept.substr(1)));
  }
  const auto& c = std::get<CoolingMetric>(batch.records[1]);
  EXPECT_TRUE(std::signbit(c.power_consumption_watts));
  EXPECT_TRUE(std::signbit(*c.fan_speed_percent));
  EXPECT_EQ(c.extra, R"({"x":-0})");
  EXPECT_THAT(RecordToJson(c), HasSubstr(R"("power_consumption_watts":-0,)"));
  EXPECT_THAT(RecordToJson(c), HasSubstr(R"("fan_speed_percent":-0,"x":-0})"));
}

// The decoder reads the common "…Z" form of a date it has just seen without ParseRfc3339; every
// spelling must still decode to ParseRfc3339's value or fail with its message.
TEST(RecordJson, TimestampsAgreeWithParseRfc3339) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  static const char* kDates[] = {"2025-08-21", "2025-08-22", "2024-02-29", "2199-12-31",
                                 "1970-01-01", "2023-02-29", "2025-13-01", "2025-08-2x"};
  static const char* kZones[] = {"Z", "Z", "Z", "z", "+02:00", "-00:30", "", "ZZ", " Z"};
  RecordDecoder decoder;
  for (int i = 0; i < 20000; ++i) {
    auto two = [&rng](unsigned max) {
      const unsigned v = static_cast<unsigned>(rng() % (max + 1));
      return std::string{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
    };
    std::string ts = kDates[rng() % 4 == 0 ? rng() % std::size(kDates) : rng() % 2];
    ts += rng() % 50 == 0 ? 't' : 'T';
    ts += two(rng() % 20 == 0 ? 29 : 23) + ":" + two(rng() % 20 == 0 ? 99 : 59) + ":" +
          two(rng() % 20 == 0 ? 60 : 59);
    if (const size_t digits = rng() % 12; digits > 0) {
      ts += '.';
      for (size_t d = 1; d < digits; ++d) ts += static_cast<char>('0' + rng() % 10);
      if (rng() % 50 == 0) ts += 'x';
    }
    ts += kZones[rng() % std::size(kZones)];
    SCOPED_TRACE(ts);
    Result<Record> r = decoder.Decode(Sensor(R"("value":1,"timestamp":")" + ts + "\"}"));
    Result<int64_t> want = ParseRfc3339(ts);
    ASSERT_EQ(r.ok(), want.ok()) << (r.ok() ? want.status().message() : r.status().message());
    if (want.ok()) {
      EXPECT_EQ(std::get<SensorReading>(*r).timestamp_micros, *want);
    } else {
      EXPECT_THAT(r.status().message(), HasSubstr(want.status().message()));
    }
  }
}

// The fast path (DecodePath::kFast) must give what the general one gives: the same record, or the
// same error, byte for byte.
void ExpectSameAsGeneral(RecordDecoder& fast, RecordDecoder& general, const std::string& json) {
  Result<Record> a = fast.Decode(json);
  Result<Record> b = general.Decode(json);
  ASSERT_EQ(a.ok(), b.ok()) << json << ": " << (a.ok() ? b : a).status().message();
  if (a.ok()) {
    ASSERT_EQ(*a, *b) << json;
  } else {
    ASSERT_EQ(a.status().message(), b.status().message()) << json;
  }
}

// Spellings at the edges of what the fast path takes: numbers, integers, string lengths, spacing,
// literals, duplicates, unknown and misplaced fields, timestamps (leap days, fractions of 1 to 9
// digits, offsets other than Z, fields out of range).
TEST(RecordJson, FastPathAgreesWithTheGeneralPathAtTheEdges) {
  RecordDecoder fast;
  RecordDecoder general({}, DecodePath::kGeneral);
  const std::string ts = R"(,"timestamp":"2025-08-21T16:48:00Z")";
  for (const char* value :
       {"0",        "-0",    "-0.0",   "1",        "23.5",
        "1E2",      "1e+2",  "1e-2",   "0.1e1",    "123456789012345678901234567890",
        "1e308",    "1e309", "-1e309", "4.9e-324", "2.4e-324",
        "1e-400",   "01",    "1.",     ".5",       "-",
        "+1",       "1e",    "1e+",    "0x10",     "NaN",
        "Infinity", "1.5x",  "null",   "true",     "\"5\"",
        "[1]",      "{}"}) {
    SCOPED_TRACE(value);
    ExpectSameAsGeneral(fast, general, Sensor(std::string(R"("value":)") + value + ts + "}"));
    ExpectSameAsGeneral(fast, general,
                        Sensor(R"("value":1)" + ts + R"(,"seq":)" + std::string(value) + "}"));
  }
  for (const char* seq : {"999999999999999999", "9223372036854775807", "9223372036854775808",
                          "18446744073709551616", "-1", "00", "5.0", "5e0"}) {
    SCOPED_TRACE(seq);
    ExpectSameAsGeneral(fast, general,
                        Sensor(R"("value":1)" + ts + R"(,"seq":)" + std::string(seq) + "}"));
  }
  for (size_t n : {0, 1, 255, 256, 257}) {
    ExpectSameAsGeneral(fast, general,
                        Sensor(R"("value":1)" + ts + R"(,"unit":")" + std::string(n, 'u') + "\"}"));
  }
  for (const char* text :
       {"x\u0041", "\\\"", "caf\xc3\xa9", "tab\there", "del\x7f", "bad\xc3", "\x01", "  "}) {
    SCOPED_TRACE(text);
    ExpectSameAsGeneral(fast, general,
                        Sensor(R"("value":1)" + ts + R"(,"unit":")" + std::string(text) + "\"}"));
  }
  for (const std::string& json : std::vector<std::string>{
           Sensor(R"("value":1)" + ts + "}"),
           " \t\r\n" + Sensor(R"( "value" : 1 )" + ts + " } \n"),
           Sensor(R"("value":1)" + ts + "} x"),
           Sensor(R"("value":1)" + ts + "}}"),
           Sensor(R"("value":1)" + ts + ","),
           Sensor(R"("value":1)" + ts + ",}"),
           Sensor(R"("value":1)" + ts),
           Sensor(R"("value":1,"value":2)" + ts + "}"),
           Sensor(R"("value":1,"unit":null)" + ts + "}"),
           Sensor(R"("value":1,"unit":null,"unit":"c")" + ts + "}"),
           Sensor(R"("value":1,"fw":"1.2")" + ts + "}"),
           Sensor(R"("value":1,"fan_speed_percent":5)" + ts + "}"),
           Sensor(R"("value":1,"va\u006cue":2)" + ts + "}"),
           Sensor(R"("value":1,"location":"")" + ts + "}"),
           Cooling(R"("fan_speed_percent":100.5)" + ts + "}"),
           Cooling(R"("power_consumption_watts":-1)" + ts + "}"),
           Cooling(R"("supply_air_temp_celsius":18.25,"seq":0)" + ts + "}"),
           R"({"source_type":"other","device_id":"d"})",
           R"({"source_type":"sensor"})",
           R"({})",
           R"([])",
           R"({"source_type":"sensor")",
       }) {
    ExpectSameAsGeneral(fast, general, json);
  }
  for (const char* when : {"2024-02-29T00:00:00Z",
                           "2023-02-29T00:00:00Z",
                           "2025-12-31T23:59:59.999999999Z",
                           "2025-08-21T16:48:00.1Z",
                           "2025-08-21T16:48:00.12Z",
                           "2025-08-21T16:48:00.123Z",
                           "2025-08-21T16:48:00.1234Z",
                           "2025-08-21T16:48:00.12345Z",
                           "2025-08-21T16:48:00.123456Z",
                           "2025-08-21T16:48:00.1234567Z",
                           "2025-08-21T16:48:00.12345678Z",
                           "2025-08-21T16:48:00.123456789Z",
                           "2025-08-21T16:48:00.1234567890Z",
                           "2025-08-21T16:48:00.Z",
                           "2025-08-21T18:48:00+02:00",
                           "2025-08-21T16:48:00-00:30",
                           "2025-08-21T16:48:00z",
                           "2025-08-21t16:48:00Z",
                           "2025-08-21T24:00:00Z",
                           "2025-08-21T23:60:00Z",
                           "2025-08-21T23:59:60Z",
                           "2025-13-01T00:00:00Z",
                           "2025-00-01T00:00:00Z",
                           "2025-08-32T00:00:00Z",
                           "2025-08-21T16:48:00",
                           "1969-12-31T23:59:59Z",
                           "9999-12-31T23:59:59Z",
                           "2025-08-21 16:48:00Z"}) {
    SCOPED_TRACE(when);
    ExpectSameAsGeneral(fast, general,
                        Sensor(std::string(R"("value":1,"timestamp":")") + when + "\"}"));
  }
}

// Seeded: random records as producers write them, then one random edit (a byte replaced, deleted or
// inserted, spacing added), through both paths.
TEST(RecordJson, FastPathAgreesWithTheGeneralPathOnRandomEdits) {
  const uint64_t seed = std::random_device{}();
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  RecordGenerator gen(seed);
  RecordDecoder fast;
  RecordDecoder general({}, DecodePath::kGeneral);
  static const char kBytes[] = {'"', '\\', ',',  ':',  '{',    '}',    '[',    '0',
                                '1', '9',  '-',  '+',  'e',    'E',    '.',    'x',
                                'n', ' ',  '\t', '\n', '\x01', '\x7f', '\xc3', 'Z'};
  for (int i = 0; i < 20000; ++i) {
    Record r = gen.Next();
    // Mostly plain ASCII ids, as producers send them, so that most records take the fast path.
    if (rng() % 4 != 0) {
      if (auto* s = std::get_if<SensorReading>(&r)) {
        s->device_id = "rack-" + std::to_string(rng() % 1000);
        s->location = "Room 1";
        s->measurement_type = "temperature";
        s->unit = rng() % 2 ? "celsius" : "";
        s->placement = {"dc1", "room-1", "", ""};
        s->position = "";
        if (rng() % 2) s->extra.clear();
      } else {
        auto& c = std::get<CoolingMetric>(r);
        c.system_id = "crah-" + std::to_string(rng() % 10);
        c.placement = {"dc1", "", "", ""};
        c.extra.clear();
      }
    }
    std::string json = RecordToJson(r);
    const size_t at = rng() % json.size();
    switch (rng() % 5) {
      case 0:
        json[at] = kBytes[rng() % std::size(kBytes)];
        break;
      case 1:
        json.erase(at, 1);
        break;
      case 2:
        json.insert(at, 1, kBytes[rng() % std::size(kBytes)]);
        break;
      case 3:
        json.insert(at, 1, " \t\r\n"[rng() % 4]);
        break;
      default:
        break;  // unchanged
    }
    ExpectSameAsGeneral(fast, general, json);
  }
}

}  // namespace
}  // namespace dcmon
