#include "detect/online.h"

#include <fmt/format.h>

namespace dcmon::detect {

Status OnlineOptions::Validate() const {
  if (Status s = facility.Validate(); !s.ok()) return s;
  if (!(min_score > 0 && min_score <= 1))
    return InvalidArgument(fmt::format("detect.min_score: {} is out of range (0, 1]", min_score));
  if (max_devices < 1)
    return InvalidArgument(fmt::format("detect.max_devices: {} must be at least 1", max_devices));
  return Status::Ok();
}

Result<std::unique_ptr<OnlineDetector>> OnlineDetector::Create(const OnlineOptions& options,
                                                               const Topology& topology) {
  if (Status s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<OnlineDetector>(new OnlineDetector(options, topology));
}

OnlineDetector::OnlineDetector(const OnlineOptions& options, const Topology& topology)
    : options_(options), detector_(options.facility, topology, [this](const Anomaly& a) {
        if (a.score < options_.min_score) {
          ++counters_.below_min_score;
          return;
        }
        ++counters_.anomalies;
        out_->push_back(a);
      }) {}

bool OnlineDetector::Judged(std::string_view device) {
  if (devices_.find(device) != devices_.end()) return true;
  if (static_cast<int64_t>(devices_.size()) >= options_.max_devices) return false;
  devices_.emplace(device);
  return true;
}

void OnlineDetector::Observe(const Record& record, std::vector<Anomaly>& out) {
  ++counters_.records;
  if (!Judged(DeviceIdOf(record))) {
    ++counters_.unjudged_records;
    return;
  }
  out_ = &out;
  detector_.Observe(record);
  out_ = nullptr;
}

std::vector<Anomaly> OnlineDetector::ObserveBatch(std::span<const Record> records) {
  std::vector<Anomaly> out;
  for (const Record& r : records) Observe(r, out);
  return out;
}

}  // namespace dcmon::detect
