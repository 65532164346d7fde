#include "detect/watermark.h"

#include <algorithm>
#include <climits>

namespace dcmon::detect {

void SourceWatermark::Advance(int64_t source, int64_t t) {
  int64_t& newest = newest_by_source_.try_emplace(source, t).first->second;
  newest = std::max(newest, t);
}

int64_t SourceWatermark::Mark() const {
  int64_t newest = INT64_MIN;
  for (const auto& [source, t] : newest_by_source_) newest = std::max(newest, t);
  int64_t mark = newest;
  for (const auto& [source, t] : newest_by_source_) {
    if (newest - t <= max_lag_micros_) mark = std::min(mark, t);
  }
  return mark;
}

}  // namespace dcmon::detect
