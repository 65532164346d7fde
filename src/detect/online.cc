#include "detect/online.h"

#include <fmt/format.h>

namespace dcmon::detect {

Status OnlineOptions::Validate() const {
  if (Status s = facility.Validate(); !s.ok()) return s;
  if (!(min_score > 0 && min_score <= 1))
    return InvalidArgument(fmt::format("detect.min_score: {} is out of range (0, 1]", min_score));
  if (!(max_source_lag_s > 0))
    return InvalidArgument(
        fmt::format("detect.max_source_lag_s: {} must be above 0", max_source_lag_s));
  if (max_devices < 1)
    return InvalidArgument(fmt::format("detect.max_devices: {} must be at least 1", max_devices));
  return Status::Ok();
}

Result<OnlineOptions> OnlineOptionsFrom(const Config& c) {
  OnlineOptions o;
  Result<double> min_score = c.GetDouble("detect.min_score", o.min_score, 1e-9, 1);
  if (!min_score.ok()) return min_score.status();
  o.min_score = *min_score;
  Result<int64_t> devices = c.GetInt("detect.max_devices", o.max_devices, 1, int64_t{1} << 40);
  if (!devices.ok()) return devices.status();
  o.max_devices = *devices;
  Result<double> lag = c.GetDouble("detect.max_source_lag_s", o.max_source_lag_s, 1, 86400);
  if (!lag.ok()) return lag.status();
  o.max_source_lag_s = *lag;
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

Result<std::unique_ptr<OnlineDetector>> OnlineDetector::Create(const OnlineOptions& options,
                                                               const Topology& topology,
                                                               std::function<int64_t()> clock) {
  if (Status s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<OnlineDetector>(new OnlineDetector(options, topology, std::move(clock)));
}

namespace {
FacilityDetectorOptions Watermarked(FacilityDetectorOptions o) {
  o.silence_on_records = false;  // judged at the watermark (Observe)
  return o;
}
}  // namespace

OnlineDetector::OnlineDetector(const OnlineOptions& options, const Topology& topology,
                               std::function<int64_t()> clock)
    : options_(options),
      detector_(Watermarked(options.facility), topology,
                [this](const Anomaly& a) {
                  if (a.score < options_.min_score) {
                    ++counters_.below_min_score;
                    return;
                  }
                  ++counters_.anomalies;
                  out_->push_back(a);
                }),
      clock_(std::move(clock)),
      watermark_(static_cast<int64_t>(options.max_source_lag_s * 1e6)) {}

bool OnlineDetector::Judged(std::string_view device) {
  if (devices_.find(device) != devices_.end()) return true;
  if (static_cast<int64_t>(devices_.size()) >= options_.max_devices) return false;
  devices_.emplace(device);
  return true;
}

void OnlineDetector::Observe(const Record& record, std::vector<Anomaly>& out, int64_t source) {
  ObserveAt(record, out, source, clock_());
}

void OnlineDetector::ObserveAt(const Record& record, std::vector<Anomaly>& out, int64_t source,
                               int64_t now) {
  ++counters_.records;
  if (!Judged(DeviceIdOf(record))) {
    ++counters_.unjudged_records;
    return;
  }
  const int64_t t = std::visit([](const auto& r) { return r.timestamp_micros; }, record);
  watermark_.Advance(source, t, now);
  out_ = &out;
  detector_.Observe(record);
  detector_.AdvanceTo(watermark_.Mark(now));
  out_ = nullptr;
}

std::vector<Anomaly> OnlineDetector::ObserveBatch(std::span<const Record> records,
                                                  std::span<const int64_t> sources) {
  std::vector<Anomaly> out;
  const int64_t now = clock_();
  for (size_t i = 0; i < records.size(); ++i)
    ObserveAt(records[i], out, i < sources.size() ? sources[i] : 0, now);
  return out;
}

}  // namespace dcmon::detect
