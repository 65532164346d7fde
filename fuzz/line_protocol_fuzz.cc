// libFuzzer target: a /write body through ParseLineProtocol (core/line_protocol.h), at a precision
// chosen by the first byte. Checks the parser's promises: every point has a measurement and at
// least one field, keys are unique, and errors come in line order. (The accepted time range is
// being widened to InfluxDB's, issue #10; it is the parser tests' to pin, not this target's.)
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/line_protocol.h"
#include "core/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr dcmon::Precision kPrecisions[] = {
      dcmon::Precision::kNanoseconds,  dcmon::Precision::kMicroseconds,
      dcmon::Precision::kMilliseconds, dcmon::Precision::kSeconds,
      dcmon::Precision::kMinutes,      dcmon::Precision::kHours};
  const dcmon::Precision precision = kPrecisions[data[0] % std::size(kPrecisions)];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr int64_t kNow = 1'732'000'000'000'000;  // fixed: the same input, the same points
  const dcmon::LineProtocolBatch batch = dcmon::ParseLineProtocol(body, precision, kNow);
  for (const dcmon::Point& point : batch.points) {
    CHECK(!point.measurement.empty(), "a point has a measurement");
    CHECK(!point.fields.empty(), "a point has a field");
    std::set<std::string_view> tags, fields;
    for (const auto& [key, value] : point.tags) {
      CHECK(!key.empty() && !value.empty(), "tag keys and values are not empty");
      CHECK(tags.insert(key).second, "tag keys are unique");
    }
    for (const dcmon::Field& field : point.fields) {
      CHECK(!field.key.empty(), "field keys are not empty");
      CHECK(fields.insert(field.key).second, "field keys are unique");
    }
  }
  int64_t previous = 0;
  for (const dcmon::LineError& error : batch.errors) {
    CHECK(error.line > previous, "errors in line order, numbered from 1");
    CHECK(!error.status.ok(), "an error is an error");
    previous = error.line;
  }
  return 0;
}
