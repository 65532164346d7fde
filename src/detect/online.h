// The detectors online: a FacilityDetector fed the records of each committed batch (the loader's
// on_commit in `serve`), keeping the anomalies at or above a level for the store, the stream and
// the alert engine. Memory is bounded: at most `max_devices` devices are judged (the detectors'
// state is O(1) per series; records of devices beyond the cap are counted, not judged). Records
// come from several sources (Kafka partitions) that run apart in event time, most of all when a
// backlog is caught up: silence (dropouts) is judged at a watermark, the oldest of the sources'
// newest event times, so a device on a partition read behind the others is not "silent". Not
// thread-safe: the loader thread calls it.
//
//   auto online = *OnlineDetector::Create({}, topology);
//   std::vector<Anomaly> found = online->ObserveBatch(batch.records, source_of_each_record);
//   for (const Anomaly& a : found) { store(a); engine.ObserveAnomaly(a); }
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"
#include "core/time.h"
#include "detect/anomaly.h"
#include "detect/facility_detector.h"
#include "detect/score.h"
#include "detect/watermark.h"

namespace dcmon::detect {

struct OnlineOptions {
  FacilityDetectorOptions facility;  // the detectors' options (docs/detection.md)
  double min_score = kAlertLevel;    // anomalies scoring below this are counted, not kept
  int64_t max_devices = 1'000'000;   // devices judged at most (the `large` preset has ~61,000)
  double max_source_lag_s = 600;     // a source this far behind the newest stops holding back the
                                     // watermark (its devices may be silent for real)
  Status Validate() const;
};

// [detect] min_score, max_devices, max_source_lag_s (docs/configuration.md).
Result<OnlineOptions> OnlineOptionsFrom(const Config& config);

struct OnlineCounters {
  int64_t records = 0;
  int64_t anomalies = 0;         // kept (at or above min_score)
  int64_t below_min_score = 0;   // reported by a detector, scoring under min_score
  int64_t unjudged_records = 0;  // from devices beyond max_devices
};

class OnlineDetector {
 public:
  // `clock`: ingest (wall) time in microseconds (a fake in tests): a source read far behind still
  // holds the watermark back while it advances in it (SourceWatermark).
  static Result<std::unique_ptr<OnlineDetector>> Create(const OnlineOptions& options,
                                                        const Topology& topology,
                                                        std::function<int64_t()> clock = NowMicros);

  // One record in arrival order from `source` (any id per ordered input: a Kafka partition); its
  // anomalies are appended to `out`.
  void Observe(const Record& record, std::vector<Anomaly>& out, int64_t source = 0);
  // The records of a committed batch, in order, with each one's source (empty: one source); the
  // anomalies they raised.
  std::vector<Anomaly> ObserveBatch(std::span<const Record> records,
                                    std::span<const int64_t> sources = {});
  const OnlineCounters& counters() const { return counters_; }

 private:
  OnlineDetector(const OnlineOptions& options, const Topology& topology,
                 std::function<int64_t()> clock);
  void ObserveAt(const Record& record, std::vector<Anomaly>& out, int64_t source, int64_t now);
  bool Judged(std::string_view device);

  OnlineOptions options_;
  FacilityDetector detector_;
  std::vector<Anomaly>* out_ = nullptr;  // where the detector's callback appends, during Observe
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_set<std::string, IdHash, std::equal_to<>> devices_;
  std::function<int64_t()> clock_;
  SourceWatermark watermark_;  // silence is judged at its Mark()
  OnlineCounters counters_;
};

}  // namespace dcmon::detect
