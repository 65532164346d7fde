// The event-time watermark of several ordered sources (Kafka partitions) that run apart in event
// time, most of all while a backlog is caught up: the oldest of the sources' newest event times,
// so that a device on a source read behind the others does not look silent. A source more than
// `max_lag_micros` behind the newest stops holding it back (its devices may be silent for real).
// O(sources) per Mark(). Not thread-safe.
//
//   SourceWatermark marks(600'000'000);
//   marks.Advance(partition, record_time);
//   judge_silence_at(marks.Mark());
#pragma once

#include <cstdint>
#include <unordered_map>

namespace dcmon::detect {

class SourceWatermark {
 public:
  explicit SourceWatermark(int64_t max_lag_micros) : max_lag_micros_(max_lag_micros) {}

  // `t` seen from `source` (any id per ordered input); older than its newest changes nothing.
  void Advance(int64_t source, int64_t t);
  // The oldest newest-event-time over the sources not lagging beyond max_lag_micros; INT64_MIN
  // before any Advance.
  int64_t Mark() const;

 private:
  int64_t max_lag_micros_;
  std::unordered_map<int64_t, int64_t> newest_by_source_;  // source -> newest event time
};

}  // namespace dcmon::detect
