// JSON codec for records: strict decoding with simdjson (single objects and NDJSON batches with
// per-line results) and encoding through JsonWriter. The rules, in full, are in docs/records.md.
//
//   RecordDecoder decoder;                  // reuse: it keeps its parser buffers
//   Result<Record> r = decoder.Decode(R"({"source_type":"sensor", ...})");
//   if (!r.ok()) log(r.status().message());   // "value: expected a number, got string"
//
//   NdjsonBatch batch;
//   decoder.DecodeNdjson(body, batch);       // batch.records, batch.rejects[i].line / .reason /
//   .raw
//
//   std::string out; AppendRecordJson(*r, out);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/status.h"

namespace dcmon {

struct DecodeLimits {
  size_t max_record_bytes = 64 * 1024;  // one JSON record (one NDJSON line)
  size_t max_string_bytes = 256;        // any string field: ids, names, units
  size_t max_extra_fields = 32;         // unknown top-level fields kept in `extra`
};

// A line that did not decode, kept with its reason so nothing is lost silently.
struct RejectedLine {
  int64_t line = 0;    // 1-based line number in the input
  std::string reason;  // "line 7: value: expected a number, got string"
  std::string raw;     // the line as received (cut to max_record_bytes for an oversize line)
};

struct NdjsonBatch {
  std::vector<Record> records;
  std::vector<RejectedLine> rejects;
  int64_t lines = 0;  // non-blank lines seen
};

// kFast reads records as producers write them (flat, known fields, plain ASCII strings) with a
// scanner of its own and hands everything else to simdjson; kGeneral always uses simdjson. Both
// give the same record or the same error for every input: kGeneral is the reference that tests
// and fuzzers hold kFast to.
enum class DecodePath : uint8_t { kFast, kGeneral };

// Decodes records. Reuse one per thread: it owns simdjson parser buffers. Not thread-safe.
class RecordDecoder {
 public:
  explicit RecordDecoder(DecodeLimits limits = {}, DecodePath path = DecodePath::kFast);
  ~RecordDecoder();
  RecordDecoder(RecordDecoder&&) noexcept;
  RecordDecoder& operator=(RecordDecoder&&) noexcept;

  // Decodes one JSON object. Errors name the field and the reason: "timestamp: missing time zone
  // ...".
  Result<Record> Decode(std::string_view json);
  // Decode() into `out`, reusing its strings' buffers (a loader decodes millions of records into
  // the same few thousand); `out` is unspecified after an error.
  Status DecodeInto(std::string_view json, Record& out);

  // Decodes every line of an NDJSON body and appends to `out`: good lines to records, bad ones to
  // rejects with "line N: " before the reason. Never stops at a bad line. Blank lines are skipped;
  // "\r\n" is accepted. `first_line` numbers the first line (for bodies that arrive in pieces).
  void DecodeNdjson(std::string_view ndjson, NdjsonBatch& out, int64_t first_line = 1);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Appends the JSON object of a record: known fields in a fixed order, absent optional fields
// omitted, then the unknown fields kept in `extra`. Decode(json of r) == r for every valid record.
void AppendRecordJson(const Record& record, std::string& out);
std::string RecordToJson(const Record& record);

// Encodes many readings of one sensor that differ only in value, timestamp and seq, byte for byte
// as AppendRecordJson would, without re-encoding the fixed fields: the JSON around the three is
// built once by AppendRecordJson and reused. For generators that emit millions of readings of a
// known set of devices.
//
//   SensorJsonTemplate t(reading);
//   t.Append(23.5, timestamp_micros, 42, out);
class SensorJsonTemplate {
 public:
  explicit SensorJsonTemplate(SensorReading fixed);
  void Append(double value, int64_t timestamp_micros, int64_t seq, std::string& out) const;

 private:
  std::string before_value_;      // {"source_type":"sensor",...,"value":
  std::string before_timestamp_;  // ,"timestamp":"
  std::string before_seq_;        // ",...,"seq":
  std::string after_seq_;         // ,"site":...}
};

}  // namespace dcmon
