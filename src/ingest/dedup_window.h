// The loader's memory of recent events, for dropping exact re-sends and measuring lateness. A key
// is (device, measurement, event time): a sensor's measurement_type, "" for a cooling system. Per
// device it keeps the keys whose event time is within `window` of the newest event time seen for
// that device, so memory is bounded by the devices' rates times the window (device ids,
// measurement names and their pairs are kept once each for the window's life, each pair found
// with one hash per record); a window of 0 turns
// the dropping off and keeps only each device's newest event time (for lateness). Keys of a batch
// are staged and join the window only once the batch is stored: a batch that fails to commit is
// read again and must not then look like a re-send of itself. The loader decodes the next batch
// while the previous one commits, so the keys of one batch can be sealed (in the store's hands)
// while the next batch's are staged; Commit() adds only the sealed ones. One thread uses a
// DedupWindow.
//
//   DedupWindow w(std::chrono::minutes(10));
//   DedupWindow::Seen s = w.Stage("temp_rack-a1", "temperature", t);
//   if (s.duplicate) drop(); else keep();   // s.behind_micros > 0: a late record
//   w.Seal();                                // the batch goes to the store
//   w.Commit();                              // after the store commit; Drop() after a failed one
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dcmon::ingest {

class DedupWindow {
 public:
  explicit DedupWindow(std::chrono::microseconds window) : window_(window.count()) {}

  struct Seen {
    bool duplicate = false;     // the same key is in the window or already staged
    int64_t behind_micros = 0;  // how far before its device's newest event time (0: not late)
  };
  // Checks a record against the window, the sealed and the staged keys, and stages it unless it is
  // a duplicate.
  Seen Stage(std::string_view device, std::string_view measurement, int64_t event_micros);
  // The staged keys become the sealed batch's (at most one batch is sealed at a time).
  void Seal();
  // The sealed keys join the window; keys older than their device's newest minus the window go.
  void Commit();
  // Forgets the sealed and the staged keys (a failed commit: both batches are read again).
  void Drop() {
    sealed_.clear();
    staged_.clear();
  }
  // Adds a key that is already stored (seeding from the store on start).
  void Add(std::string_view device, std::string_view measurement, int64_t event_micros);
  // Keys held, staged ones excluded.
  size_t size() const { return size_; }

 private:
  // A measurement as its index in measurements_: keys hold no strings, so staging one allocates
  // nothing but its place in a deque.
  using Key = std::pair<int64_t, uint32_t>;  // (event time, measurement)
  struct Device {
    int64_t newest = INT64_MIN;
    std::deque<Key> keys;  // sorted, oldest first; a device's records mostly arrive in order
    // A key past the newest held (a device's next record, mostly) is known absent without a search.
    bool Contains(Key k) const {
      return !keys.empty() && !(keys.back() < k) && std::binary_search(keys.begin(), keys.end(), k);
    }
    // False when the key is there already.
    bool Insert(Key k);
  };
  // A (device, measurement) pair as the index of its device in devices_ and of its measurement:
  // one hash per record finds both.
  struct Series {
    uint32_t device;
    uint32_t measurement;
  };
  // Strings looked up as string_views, without building a std::string per record.
  using Names = std::pair<std::string_view, std::string_view>;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    size_t operator()(const Names& n) const { return (*this)(n.first) * 31 + (*this)(n.second); }
    size_t operator()(const std::pair<std::string, std::string>& n) const {
      return (*this)(Names(n.first, n.second));
    }
  };
  struct Equal {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.first == b.first && a.second == b.second;
    }
  };
  using Index = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;
  // The batches' keys, by device index.
  using Staged = std::unordered_map<uint32_t, Device>;
  Series Intern(std::string_view device, std::string_view measurement);
  static uint32_t IndexOf(Index& index, std::string_view name);
  // Merges `keys` and `newest` into the device's window and evicts what fell out of it.
  void Merge(uint32_t device, const Device& from);

  int64_t window_;
  std::vector<Device> devices_;  // the stored keys within the window, by device index
  Staged sealed_;                // the batch being committed
  Staged staged_;                // the batch being decoded
  size_t size_ = 0;
  std::unordered_map<std::pair<std::string, std::string>, Series, Hash, Equal> series_;
  Index device_index_;
  Index measurements_;
};

}  // namespace dcmon::ingest
