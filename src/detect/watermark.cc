#include "detect/watermark.h"

#include <algorithm>

namespace dcmon::detect {

void SourceWatermark::Advance(int64_t source, int64_t t, int64_t ingest_micros) {
  auto [it, added] = sources_.try_emplace(source, Source{t, ingest_micros});
  if (!added && t > it->second.newest) it->second = Source{t, ingest_micros};
}

int64_t SourceWatermark::Mark(int64_t ingest_micros) const {
  int64_t newest = INT64_MIN;
  for (const auto& [id, s] : sources_) newest = std::max(newest, s.newest);
  int64_t mark = newest;
  for (const auto& [id, s] : sources_) {
    const bool stopped = newest - s.newest > max_lag_micros_ &&
                         (s.advanced == INT64_MIN || ingest_micros - s.advanced > max_lag_micros_);
    if (!stopped) mark = std::min(mark, s.newest);
  }
  return mark;
}

}  // namespace dcmon::detect
