// libFuzzer target: an NDJSON body through RecordDecoder::DecodeNdjson (core/record_json.h).
// Checks that every non-blank line is accounted for, as a record or as a reject with its line
// number, and that a good line decodes alone to the same record.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/record_json.h"
#include "core/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dcmon::RecordDecoder decoder;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  dcmon::NdjsonBatch batch;
  decoder.DecodeNdjson(body, batch);
  CHECK(static_cast<int64_t>(batch.records.size() + batch.rejects.size()) == batch.lines,
        "records + rejects == non-blank lines");
  int64_t previous = 0;
  for (const dcmon::RejectedLine& reject : batch.rejects) {
    CHECK(reject.line > previous, "rejects in line order, numbered from 1");
    CHECK(!reject.reason.empty(), "a reject says why");
    previous = reject.line;
  }
  if (batch.records.size() == 1 && batch.rejects.empty()) {
    dcmon::NdjsonBatch alone;
    decoder.DecodeNdjson(dcmon::RecordToJson(batch.records[0]), alone);
    CHECK(alone.records.size() == 1 && alone.records[0] == batch.records[0],
          "a decoded line re-encodes to the same record");
  }
  return 0;
}
