// What the fuzz targets assert besides "no crash, no sanitizer report": a property that fails
// aborts with its reason, which libFuzzer records as a crash with the input that caused it.
//
//   FuzzCheck(decoded == again, "Decode(AppendRecordJson(r)) == r");
#pragma once

#include <cstdio>
#include <cstdlib>

namespace dcmon::fuzz {

inline void FuzzCheck(bool ok, const char* property) {
  if (ok) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", property);
  std::abort();
}

}  // namespace dcmon::fuzz
