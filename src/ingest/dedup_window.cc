#include "ingest/dedup_window.h"

#include <algorithm>

namespace dcmon::ingest {

DedupWindow::Seen DedupWindow::Stage(std::string_view device, std::string_view measurement,
                                     int64_t event_micros) {
  std::pair<int64_t, std::string> key{event_micros, std::string(measurement)};
  const std::string id(device);
  int64_t newest = INT64_MIN;
  if (auto it = devices_.find(id); it != devices_.end()) {
    if (it->second.keys.contains(key)) return {.duplicate = true};
    newest = it->second.newest;
  }
  Device& staged = staged_[id];
  // Off (a window of 0): no keys are kept, only each device's newest event, for lateness.
  if (window_ > 0 && !staged.keys.insert(std::move(key)).second) return {.duplicate = true};
  newest = std::max(newest, staged.newest);
  staged.newest = std::max(staged.newest, event_micros);
  return {.behind_micros = newest > event_micros ? newest - event_micros : 0};
}

void DedupWindow::Commit() {
  for (const auto& [id, device] : staged_) Merge(id, device);
  staged_.clear();
}

void DedupWindow::Add(std::string_view device, std::string_view measurement, int64_t event_micros) {
  Device one{.newest = event_micros, .keys = {{event_micros, std::string(measurement)}}};
  Merge(std::string(device), one);
}

void DedupWindow::Merge(const std::string& id, const Device& from) {
  Device& d = devices_[id];
  size_ -= d.keys.size();
  d.newest = std::max(d.newest, from.newest);
  d.keys.insert(from.keys.begin(), from.keys.end());
  // Only the window behind the newest event is kept: older re-sends are no longer recognised (and
  // are stored), which is what bounds the memory.
  if (window_ == 0) {
    d.keys.clear();
  } else {
    d.keys.erase(d.keys.begin(), d.keys.lower_bound({d.newest - window_, std::string()}));
  }
  size_ += d.keys.size();
}

}  // namespace dcmon::ingest
