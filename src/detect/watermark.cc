#include "detect/watermark.h"

namespace dcmon::detect {

void SourceWatermark::Advance(int64_t source, int64_t t, int64_t ingest_micros) {
  auto [it, added] = sources_.try_emplace(source, Source{t, ingest_micros});
  if (added) {
    by_newest_.emplace(t, source);
    return;
  }
  if (t <= it->second.newest) return;
  // Re-keys the source's node in place of a free and an allocation per record.
  auto node = by_newest_.extract({it->second.newest, source});
  node.value().first = t;
  by_newest_.insert(std::move(node));
  it->second = Source{t, ingest_micros};
}

int64_t SourceWatermark::Mark(int64_t ingest_micros) const {
  if (by_newest_.empty()) return INT64_MIN;
  const int64_t newest = by_newest_.rbegin()->first;
  // From the oldest up: the first source that is not stopped holds the mark. Only a source more
  // than the cut-off behind can be stopped, and the newest never is, so the walk ends there.
  for (const auto& [t, id] : by_newest_) {
    if (newest - t <= max_lag_micros_) return t;
    const int64_t advanced = sources_.at(id).advanced;
    const bool stopped = advanced == INT64_MIN || ingest_micros - advanced > max_lag_micros_;
    if (!stopped) return t;
  }
  return newest;
}

}  // namespace dcmon::detect
