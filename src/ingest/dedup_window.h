// The loader's memory of recent events, for dropping exact re-sends and measuring lateness. A key
// is (device, measurement, event time): a sensor's measurement_type, "" for a cooling system. Per
// device it keeps the keys whose event time is within `window` of the newest event time seen for
// that device, so memory is bounded by the devices' rates times the window; a window of 0 turns
// the dropping off and keeps only each device's newest event time (for lateness). Keys of a batch
// are staged and join the window only once the batch is stored: a batch that fails to commit is
// read again and must not then look like a re-send of itself. One thread uses a DedupWindow.
//
//   DedupWindow w(std::chrono::minutes(10));
//   DedupWindow::Seen s = w.Stage("temp_rack-a1", "temperature", t);
//   if (s.duplicate) drop(); else keep();   // s.behind_micros > 0: a late record
//   w.Commit();                              // after the store commit; Drop() after a failed one
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace dcmon::ingest {

class DedupWindow {
 public:
  explicit DedupWindow(std::chrono::microseconds window) : window_(window.count()) {}

  struct Seen {
    bool duplicate = false;     // the same key is in the window or already staged
    int64_t behind_micros = 0;  // how far before its device's newest event time (0: not late)
  };
  // Checks a record against the window and the staged keys, and stages it unless it is a
  // duplicate.
  Seen Stage(std::string_view device, std::string_view measurement, int64_t event_micros);
  // The staged keys join the window; keys older than their device's newest minus the window go.
  void Commit();
  // Forgets the staged keys.
  void Drop() { staged_.clear(); }
  // Adds a key that is already stored (seeding from the store on start).
  void Add(std::string_view device, std::string_view measurement, int64_t event_micros);
  // Keys held, staged ones excluded.
  size_t size() const { return size_; }

 private:
  struct Device {
    int64_t newest = INT64_MIN;
    std::set<std::pair<int64_t, std::string>> keys;  // (event time, measurement), oldest first
  };
  // Merges `keys` and `newest` into the device's window and evicts what fell out of it.
  void Merge(const std::string& device, const Device& from);

  int64_t window_;
  std::unordered_map<std::string, Device> devices_;
  std::unordered_map<std::string, Device> staged_;
  size_t size_ = 0;
};

}  // namespace dcmon::ingest
