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

uint32_t DedupWindow::IndexOf(Index& index, std::string_view name) {
  if (auto it = index.find(name); it != index.end()) return it->second;
  const auto id = static_cast<uint32_t>(index.size());
  index.emplace(std::string(name), id);
  return id;
}

DedupWindow::Series DedupWindow::Intern(std::string_view device, std::string_view measurement) {
  if (auto it = series_.find(Names(device, measurement)); it != series_.end()) return it->second;
  const Series s{IndexOf(device_index_, device), IndexOf(measurements_, measurement)};
  if (s.device == devices_.size()) devices_.emplace_back();
  series_.emplace(std::pair(std::string(device), std::string(measurement)), s);
  return s;
}

DedupWindow::Seen DedupWindow::Stage(std::string_view device, std::string_view measurement,
                                     int64_t event_micros) {
  const Series series = Intern(device, measurement);
  const Key key{event_micros, series.measurement};
  const Device& stored = devices_[series.device];
  if (stored.Contains(key)) return {.duplicate = true};
  int64_t newest = stored.newest;
  if (auto it = sealed_.find(series.device); it != sealed_.end()) {
    if (it->second.Contains(key)) return {.duplicate = true};
    newest = std::max(newest, it->second.newest);
  }
  Device& staged = staged_[series.device];
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
  for (const auto& [device, keys] : sealed_) Merge(device, keys);
  sealed_.clear();
}

void DedupWindow::Add(std::string_view device, std::string_view measurement, int64_t event_micros) {
  const Series series = Intern(device, measurement);
  Device one{.newest = event_micros, .keys = {{event_micros, series.measurement}}};
  Merge(series.device, one);
}

void DedupWindow::Merge(uint32_t device, const Device& from) {
  Device& d = devices_[device];
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
