// The event-time watermark of several ordered sources (Kafka partitions) that run apart in event
// time, most of all while a backlog is caught up: the oldest of the sources' newest event times,
// so that a device on a source read behind the others does not look silent. A source more than
// `max_lag_micros` behind the newest stops holding it back (its devices may be silent for real);
// given ingest times, only once it has not advanced for `max_lag_micros` of ingest time either (a
// partition the loader reads far behind during a backfill still advances; a stopped one does not).
// The sources are kept ordered by their newest event time: Advance is O(log sources) when it moves
// one, Mark walks only the stopped sources at the old end (usually none) before the one that
// holds the mark. Both run once per record. Not thread-safe.
//
//   SourceWatermark marks(600'000'000);
//   marks.Advance(partition, record_time, NowMicros());
//   judge_silence_at(marks.Mark(NowMicros()));
#pragma once

#include <climits>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>

namespace dcmon::detect {

class SourceWatermark {
 public:
  explicit SourceWatermark(int64_t max_lag_micros) : max_lag_micros_(max_lag_micros) {}

  // `t` seen from `source` (any id per ordered input) at `ingest_micros` (INT64_MIN: judged on
  // event time alone); older than its newest changes nothing.
  void Advance(int64_t source, int64_t t, int64_t ingest_micros = INT64_MIN);
  // The oldest newest-event-time over the sources that hold it back (above) at `ingest_micros`;
  // INT64_MIN before any Advance.
  int64_t Mark(int64_t ingest_micros = INT64_MAX) const;

 private:
  struct Source {
    int64_t newest;    // event time
    int64_t advanced;  // ingest time newest last moved
  };
  int64_t max_lag_micros_;
  std::unordered_map<int64_t, Source> sources_;
  std::set<std::pair<int64_t, int64_t>> by_newest_;  // (newest, source), one per source
};

}  // namespace dcmon::detect
