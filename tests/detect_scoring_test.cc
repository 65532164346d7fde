// The detection harness: simulates a scripted stretch of facility time with every sensor and
// facility fault kind, feeds the records (as NDJSON, decoded like the loader does) to
// detect::FacilityDetector, and scores its anomalies against the simulator's ground-truth labels:
// an anomaly is a true positive when it falls inside a label's window (start .. end + recovery: 30
// min for sensor faults, 1 h for equipment faults) and names one of the label's devices. Per kind:
// precision, recall, detection delay. Then a fault-free stretch must give no anomaly at all (every
// reported anomaly is at or above the alert level).
//
// Fast form (ctest): one room, one fault of each kind in 3 simulated days, then 3 fault-free days.
// Full form (DCMON_DETECT_FULL=1, the table in docs/benchmarks.md): the `small` preset, four faults
// of each kind over a week, then a fault-free week. DCMON_DETECT_SEED picks the seed (default 7).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/record_json.h"
#include "core/sink.h"
#include "core/time.h"
#include "detect/facility_detector.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace dcmon {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
// Recovery after a fault's end still belongs to it: a sensor is back at once; a room's air and
// structure settle over about an hour after an equipment fault (docs/simulator.md: the structure is
// coupled over about half an hour).
constexpr int64_t kSensorGrace = 30 * 60 * kSecond;
constexpr int64_t kEquipmentGrace = 60 * 60 * kSecond;
int64_t Grace(const std::string& kind) {
  const bool equipment = kind == "crah-trip" || kind == "chiller-trip" ||
                         kind == "utility-outage" || kind == "blanking-gap";
  return equipment ? kEquipmentGrace : kSensorGrace;
}
// The simulator's seed (fault targets and noise): DCMON_DETECT_SEED, 7 unless set.
uint64_t Seed() {
  const char* v = std::getenv("DCMON_DETECT_SEED");
  return v ? std::strtoull(v, nullptr, 10) : 7;
}

bool Full() { return std::getenv("DCMON_DETECT_FULL") != nullptr; }

struct Label {
  std::string kind;
  std::set<std::string> devices;
  int64_t start = 0, end = 0;
};

// Decodes each record line and hands it to the detector, as the loader would after a commit.
class DetectorSink : public Sink {
 public:
  explicit DetectorSink(detect::FacilityDetector& d) : detector_(d) {}
  Status Write(std::string_view, std::string_view line) override {
    Result<Record> r = decoder_.Decode(line);
    if (r.ok()) detector_.Observe(*r);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }

 private:
  detect::FacilityDetector& detector_;
  RecordDecoder decoder_;
};

class LabelSink : public Sink {
 public:
  Status Write(std::string_view, std::string_view line) override {
    simdjson::padded_string json(line);
    simdjson::dom::element e = parser_.parse(json);
    Label l{.kind = std::string(std::string_view(e["kind"]))};
    for (auto d : e["devices"].get_array()) l.devices.insert(std::string(std::string_view(d)));
    l.start = *ParseRfc3339(std::string_view(e["start"]));
    l.end = *ParseRfc3339(std::string_view(e["end"]));
    labels.push_back(std::move(l));
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::vector<Label> labels;

 private:
  simdjson::dom::parser parser_;
};

struct Outcome {
  std::vector<Label> labels;
  std::vector<detect::Anomaly> anomalies;
};

Outcome Simulate(const sim::FacilityConfig& facility, int64_t start, int64_t end,
                 const std::vector<std::string>& scenarios) {
  auto sim =
      sim::CreateWithScenarios(facility, {.seed = Seed(), .start_micros = start}, scenarios, start);
  EXPECT_TRUE(sim.ok()) << sim.status().message();
  Outcome run;
  detect::FacilityDetector detector({}, sim::TopologyOf((*sim)->model()),
                                    [&](const detect::Anomaly& a) { run.anomalies.push_back(a); });
  DetectorSink records(detector);
  LabelSink labels;
  EXPECT_TRUE((*sim)->RunUntil(end, records, &labels).ok());
  EXPECT_TRUE((*sim)->Finish(records).ok());
  run.labels = std::move(labels.labels);
  return run;
}

// Fault targets chosen from the facility so that each is meaningful: a blanking gap on a rack that
// has its panels, sensor faults on each kind of rack sensor.
std::vector<std::string> Script(const sim::Model& m, int instances) {
  const auto& racks = m.racks();
  std::vector<std::string> sealed;
  for (const sim::Rack& r : racks) {
    if (!r.blanking_gap) sealed.push_back(r.id);
  }
  auto rack = [&](size_t i) { return racks[(i * 7 + 3) % racks.size()].id; };
  std::vector<std::string> out;
  int64_t at = 1;  // hours after the start; the first day is warm-up
  auto add = [&](const std::string& spec, int64_t spacing_h) {
    out.push_back(fmt::format(fmt::runtime(spec), fmt::arg("at", fmt::format("{}h", 24 + at))));
    at += spacing_h;
  };
  for (int i = 0; i < instances; ++i) {
    const std::string crah = m.crahs()[(1 + 2 * i) % m.crahs().size()].id;
    add("crah-trip:" + crah + "@{at}+30m", 4);
    add("chiller-trip@{at}+15m", 4);
    add("utility-outage@{at}+2m", 3);
    add("blanking-gap:" + sealed[(2 + 5 * i) % sealed.size()] + "@{at}+3h", 5);
    add("sensor-drift:" + rack(i) + (i % 2 ? "-humidity" : "-inlet-middle") + "@{at}+3h", 5);
    add("sensor-stuck:" + rack(i + 1) + (i % 2 ? "-humidity" : "-inlet-top") + "@{at}+2h", 3);
    add("sensor-spike:" + rack(i + 2) + (i % 2 ? "-pdu" : "-inlet-bottom") + "@{at}+1h", 2);
    add("sensor-dropout:" + rack(i + 3) + (i % 2 ? "-inlet-top" : "-pdu") + "@{at}+1h", 2);
    add("unit-mixup:" + rack(i + 4) + (i % 2 ? "-inlet-middle" : "-exhaust") + "@{at}+1h", 3);
  }
  return out;
}

struct KindScore {
  int labels = 0, detected = 0, anomalies = 0, true_positives = 0;
  int64_t max_delay = 0;
  double precision() const { return anomalies ? double(true_positives) / anomalies : 1; }
  double recall() const { return labels ? double(detected) / labels : 1; }
};

TEST(DetectScoring, EveryFaultKindOnAScriptedWeek) {
  const std::string facility_name =
      Full() ? "small" : std::string(DCMON_SOURCE_DIR) + "/tests/detect_facility.toml";
  Result<sim::FacilityConfig> facility = sim::LoadFacility(facility_name);
  ASSERT_TRUE(facility.ok()) << facility.status().message();
  const int64_t start = *ParseRfc3339("2025-03-03T00:00:00Z");
  const int instances = Full() ? 4 : 1;

  auto probe = sim::Simulator::Create(*facility, {.seed = Seed(), .start_micros = start});
  ASSERT_TRUE(probe.ok());
  const std::vector<std::string> script = Script((*probe)->model(), instances);
  const int64_t end = start + (Full() ? 7 : 3) * kDay;
  std::printf("facility %s, seed %llu, %s .. %s, %zu faults\n", facility_name.c_str(),
              static_cast<unsigned long long>(Seed()), FormatRfc3339(start).c_str(),
              FormatRfc3339(end).c_str(), script.size());
  Outcome run = Simulate(*facility, start, end, script);
  ASSERT_EQ(run.labels.size(), script.size());

  std::map<std::string, KindScore> kinds;
  std::vector<bool> detected(run.labels.size(), false);
  std::vector<int64_t> delay(run.labels.size(), 0);
  int outside = 0;
  for (const detect::Anomaly& a : run.anomalies) {
    int window = -1;
    bool hit = false;
    for (size_t i = 0; i < run.labels.size(); ++i) {
      const Label& l = run.labels[i];
      if (a.timestamp_micros < l.start || a.timestamp_micros > l.end + Grace(l.kind)) continue;
      window = static_cast<int>(i);
      if (l.devices.contains(a.device)) {
        hit = true;
        if (!detected[i]) delay[i] = a.timestamp_micros - l.start;
        detected[i] = true;
        break;
      }
    }
    if (std::getenv("DCMON_DETECT_VERBOSE") != nullptr) {
      std::printf("  anomaly: %s %s %s %.2f %s\n", FormatRfc3339(a.timestamp_micros).c_str(),
                  a.device.c_str(), std::string(detect::DetectorName(a.detector)).c_str(), a.score,
                  a.explanation.c_str());
    }
    if (window < 0) {
      ++outside;
      std::printf("  outside any window: %s %s %s %s\n", FormatRfc3339(a.timestamp_micros).c_str(),
                  a.device.c_str(), std::string(detect::DetectorName(a.detector)).c_str(),
                  a.explanation.c_str());
      continue;
    }
    KindScore& k = kinds[run.labels[window].kind];
    ++k.anomalies;
    k.true_positives += hit;
    if (!hit) {
      std::printf("  false positive in %s: %s %s %s %s\n", run.labels[window].kind.c_str(),
                  FormatRfc3339(a.timestamp_micros).c_str(), a.device.c_str(),
                  std::string(detect::DetectorName(a.detector)).c_str(), a.explanation.c_str());
    }
  }
  for (size_t i = 0; i < run.labels.size(); ++i) {
    KindScore& k = kinds[run.labels[i].kind];
    ++k.labels;
    k.detected += detected[i];
    if (detected[i]) k.max_delay = std::max(k.max_delay, delay[i]);
    if (!detected[i]) std::printf("  missed: %s\n", script[i].c_str());
  }
  std::printf("\n| kind | faults | detected | anomalies | precision | recall | max delay |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const auto& [kind, k] : kinds) {
    std::printf("| %s | %d | %d | %d | %.2f | %.2f | %lld s |\n", kind.c_str(), k.labels,
                k.detected, k.anomalies, k.precision(), k.recall(),
                static_cast<long long>(k.max_delay / kSecond));
  }
  std::printf("anomalies outside every window: %d of %zu\n\n", outside, run.anomalies.size());
  for (const auto& [kind, k] : kinds) {
    EXPECT_GE(k.precision(), 0.9) << kind;
    EXPECT_GE(k.recall(), 0.9) << kind;
  }
  EXPECT_LE(kinds["crah-trip"].max_delay, 60 * kSecond);
  EXPECT_EQ(kinds.size(), 9u);
  EXPECT_EQ(outside, 0);
}

TEST(DetectScoring, NothingOnAFaultFreeWeek) {
  const std::string facility_name =
      Full() ? "small" : std::string(DCMON_SOURCE_DIR) + "/tests/detect_facility.toml";
  Result<sim::FacilityConfig> facility = sim::LoadFacility(facility_name);
  ASSERT_TRUE(facility.ok()) << facility.status().message();
  const int64_t start = *ParseRfc3339("2025-06-02T00:00:00Z");
  const int64_t end = start + (Full() ? 7 : 3) * kDay;
  Outcome run = Simulate(*facility, start, end, {});
  std::printf("fault-free %s, seed %llu, %s .. %s: %zu anomalies\n", facility_name.c_str(),
              static_cast<unsigned long long>(Seed()), FormatRfc3339(start).c_str(),
              FormatRfc3339(end).c_str(), run.anomalies.size());
  for (const detect::Anomaly& a : run.anomalies) {
    ADD_FAILURE() << FormatRfc3339(a.timestamp_micros) << " " << a.device << " "
                  << detect::DetectorName(a.detector) << " " << a.score << " " << a.explanation;
  }
}

}  // namespace
}  // namespace dcmon
