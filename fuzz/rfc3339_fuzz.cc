// libFuzzer target: text through ParseRfc3339 (core/time.h). Checks that an accepted time is in
// the accepted range and that formatting it gives text that parses back to the same instant.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const dcmon::Result<int64_t> micros = dcmon::ParseRfc3339(text);
  if (!micros.ok()) {
    CHECK(!micros.status().message().empty(), "a refused time says why");
    return 0;
  }
  CHECK(*micros >= dcmon::kMinTimestampMicros && *micros < dcmon::kMaxTimestampMicros,
        "an accepted time is in the accepted range");
  const std::string formatted = dcmon::FormatRfc3339(*micros);
  const dcmon::Result<int64_t> again = dcmon::ParseRfc3339(formatted);
  CHECK(again.ok() && *again == *micros, "ParseRfc3339(FormatRfc3339(t)) == t");
  return 0;
}
