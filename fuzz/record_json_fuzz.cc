// libFuzzer target: one JSON record through RecordDecoder::Decode (core/record_json.h). Besides
// memory and UB errors it checks the codec's contract: a record that decodes re-encodes to JSON
// that decodes to the same record, and the fast path gives what the general one gives (the same
// record or the same error).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/record_json.h"
#include "core/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dcmon::RecordDecoder decoder;
  static dcmon::RecordDecoder general({}, dcmon::DecodePath::kGeneral);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  dcmon::Result<dcmon::Record> record = decoder.Decode(input);
  dcmon::Result<dcmon::Record> reference = general.Decode(input);
  CHECK(record.ok() == reference.ok(), "the fast and the general path agree on {}", input);
  CHECK(record.ok() ? *record == *reference
                    : record.status().message() == reference.status().message(),
        "the fast and the general path give the same record or error for {}", input);
  if (!record.ok()) {
    CHECK(!record.status().message().empty(), "a rejected record says why");
    return 0;
  }
  const std::string json = dcmon::RecordToJson(*record);
  dcmon::Result<dcmon::Record> again = decoder.Decode(json);
  CHECK(again.ok(), "the JSON of a decoded record decodes");
  CHECK(*again == *record, "Decode(RecordToJson(r)) == r");
  return 0;
}
