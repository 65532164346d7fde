#include "ingest/dedup_window.h"

#include <algorithm>

#include "core/status.h"

namespace dcmon::ingest {

DedupWindow::Seen DedupWindow::Stage(std::string_view device, std::string_view measurement,
                                     int64_t event_micros) {
  std::pair<int64_t, std::string> key{event_micros, std::string(measurement)};
  int64_t newest = INT64_MIN;
  for (const Devices* held : {&devices_, &sealed_}) {
    if (auto it = held->find(device); it != held->end()) {
      if (it->second.keys.contains(key)) return {.duplicate = true};
      newest = std::max(newest, it->second.newest);
    }
  }
  auto it = staged_.find(device);
  if (it == staged_.end()) it = staged_.try_emplace(std::string(device)).first;
  Device& staged = it->second;
  // Off (a window of 0): no keys are kept, only each device's newest event, for lateness.
  if (window_ > 0 && !staged.keys.insert(std::move(key)).second) return {.duplicate = true};
  newest = std::max(newest, staged.newest);
  staged.newest = std::max(staged.newest, event_micros);
  return {.behind_micros = newest > event_micros ? newest - event_micros : 0};
}

void DedupWindow::Seal() {
  CHECK(sealed_.empty(), "DedupWindow::Seal: the previous batch is still sealed");
  sealed_.swap(staged_);
}

void DedupWindow::Commit() {
  for (const auto& [id, device] : sealed_) Merge(id, device);
  sealed_.clear();
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
