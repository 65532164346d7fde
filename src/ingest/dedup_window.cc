#include "ingest/dedup_window.h"

#include <algorithm>

#include "core/status.h"

namespace dcmon::ingest {

bool DedupWindow::Device::Insert(Key k) {
  if (keys.empty() || keys.back() < k) {
    keys.push_back(k);
    return true;
  }
  const auto at = std::lower_bound(keys.begin(), keys.end(), k);
  if (*at == k) return false;
  keys.insert(at, k);
  return true;
}

uint32_t DedupWindow::MeasurementId(std::string_view measurement) {
  if (auto it = measurements_.find(measurement); it != measurements_.end()) return it->second;
  const auto id = static_cast<uint32_t>(measurements_.size());
  measurements_.emplace(std::string(measurement), id);
  return id;
}

DedupWindow::Seen DedupWindow::Stage(std::string_view device, std::string_view measurement,
                                     int64_t event_micros) {
  const Key key{event_micros, MeasurementId(measurement)};
  int64_t newest = INT64_MIN;
  for (const Devices* held : {&devices_, &sealed_}) {
    if (auto it = held->find(device); it != held->end()) {
      if (it->second.Contains(key)) return {.duplicate = true};
      newest = std::max(newest, it->second.newest);
    }
  }
  auto it = staged_.find(device);
  if (it == staged_.end()) it = staged_.try_emplace(std::string(device)).first;
  Device& staged = it->second;
  // Off (a window of 0): no keys are kept, only each device's newest event, for lateness.
  if (window_ > 0 && !staged.Insert(key)) return {.duplicate = true};
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
  Device one{.newest = event_micros, .keys = {{event_micros, MeasurementId(measurement)}}};
  Merge(std::string(device), one);
}

void DedupWindow::Merge(const std::string& id, const Device& from) {
  Device& d = devices_[id];
  size_ -= d.keys.size();
  d.newest = std::max(d.newest, from.newest);
  for (const Key& k : from.keys) d.Insert(k);
  // Only the window behind the newest event is kept: older re-sends are no longer recognised (and
  // are stored), which is what bounds the memory.
  if (window_ == 0) {
    d.keys.clear();
  } else {
    d.keys.erase(d.keys.begin(),
                 std::lower_bound(d.keys.begin(), d.keys.end(), Key{d.newest - window_, 0}));
  }
  size_ += d.keys.size();
}

}  // namespace dcmon::ingest
