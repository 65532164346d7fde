// Scores the default alert rules (config/alerts.toml) against the simulator's ground-truth labels:
// a scripted stretch of simulated time on the `small` preset with every fault kind, then the same
// facility with no fault at all. Prints the table docs/benchmarks.md quotes.
//
// The engine and the online detectors (whose anomalies feed the anomaly rules) are fed as serve
// feeds them, from a fault-free day before each stretch: the detectors learn a day before they
// score. Fast form (ctest): 1 simulated day with faults in 100-minute slots (every kind at least
// once), then the 6 hottest hours of a day without. The week of docs/benchmarks.md (3-hour slots, a
// fault-free week):
//   DCMON_SCORING_DAYS=7 DCMON_SCORING_SLOT_MIN=180 build/tests/alert_scoring_test
// Randomness: the seed (DCMON_SCORING_SEED, default 1) picks fault targets and the physics' noise.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "alert/engine.h"
#include "core/record_json.h"
#include "core/time.h"
#include "detect/online.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace dcmon::alert {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 60 * kMin;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

// Decodes each line the simulator emits and feeds it to the engine and to the online detectors,
// whose anomalies go to the engine's anomaly rules, as serve does after a commit.
class EngineSink : public Sink {
 public:
  EngineSink(Engine& engine, detect::OnlineDetector& detector)
      : engine_(engine), detector_(detector) {}
  Status Write(std::string_view, std::string_view line) override {
    Result<Record> r = decoder_.Decode(line);
    if (!r.ok()) return Status::Ok();  // malformed lines are the loader's rejects
    engine_.Observe(*r);
    found_.clear();
    detector_.Observe(*r, found_);
    for (const detect::Anomaly& a : found_) engine_.ObserveAnomaly(a);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }

 private:
  Engine& engine_;
  detect::OnlineDetector& detector_;
  RecordDecoder decoder_;
  std::vector<detect::Anomaly> found_;
};

class NullSink : public Sink {
 public:
  Status Write(std::string_view, std::string_view) override { return Status::Ok(); }
  Status Flush() override { return Status::Ok(); }
};

struct ScoredRun {
  std::vector<sim::Fault> faults;
  std::vector<Alert> paged;      // fired, not inhibited
  std::vector<Alert> inhibited;  // fired while explained by an incident or a sensor alert
  Topology topology;
};

// The detectors learn a day before they score (docs/detection.md): the facility runs, and is
// judged by the rules, from a day before `start`, as a monitored site has history.
constexpr int64_t kWarmUp = 24 * kHour;

ScoredRun Simulate(int64_t start, int64_t end, std::vector<std::string> scenarios, uint64_t seed) {
  Result<sim::FacilityConfig> facility = sim::LoadFacility("small");
  CHECK(facility.ok(), "{}", facility.status().message());
  auto sim = sim::CreateWithScenarios(*facility, {.seed = seed, .start_micros = start - kWarmUp},
                                      scenarios, start);
  CHECK(sim.ok(), "{}", sim.status().message());
  ScoredRun run;
  run.topology = sim::TopologyOf((*sim)->model());
  auto rules = LoadRules(DCMON_SOURCE_DIR "/config/alerts.toml");
  CHECK(rules.ok(), "{}", rules.status().message());
  sim::Simulator* s = sim->get();
  Engine engine = *Engine::Create(*rules, run.topology, {}, [s] { return s->now_micros(); });
  auto detector = detect::OnlineDetector::Create({}, run.topology);
  CHECK(detector.ok(), "{}", detector.status().message());
  EngineSink sink(engine, **detector);
  NullSink labels;
  for (int64_t t = start - kWarmUp; t < end; t += kHour) {
    CHECK((*sim)->RunUntil(std::min(end, t + kHour), sink, &labels).ok(), "simulation failed");
    for (const AlertEvent& e : engine.TakeEvents()) {
      if (e.state != AlertState::kFiring) continue;
      (e.alert.inhibited_by.empty() ? run.paged : run.inhibited).push_back(e.alert);
    }
  }
  run.faults = (*sim)->faults();
  return run;
}

// Which fault kinds an alert reports. Inlet alerts report the heat itself: any equipment fault
// whose zone they are in explains them.
std::set<std::string> KindsOf(const Alert& a) {
  static const std::map<std::string, std::set<std::string>> kByRule = {
      {"CrahUnitDown", {"crah-trip"}},
      {"ChillerPlantDown", {"chiller-trip"}},
      {"UtilityPowerLost", {"utility-outage"}},
      {"InletTemperatureHigh", {"crah-trip", "chiller-trip", "utility-outage", "blanking-gap"}},
      {"InletTemperatureRateOfChange",
       {"crah-trip", "chiller-trip", "utility-outage", "blanking-gap"}},
      {"SensorImplausible", {"unit-mixup"}},
      {"SensorSpike", {"sensor-spike"}},
      {"SensorStuck", {"sensor-stuck"}},
      {"SensorStuckDetected", {"sensor-stuck"}},
      {"SensorDrift", {"sensor-drift"}},
      {"InletRecirculation", {"blanking-gap"}},
      {"DeviceSilent", {"sensor-dropout", "late"}},
  };
  auto it = kByRule.find(a.rule);
  return it == kByRule.end() ? std::set<std::string>{} : it->second;
}

// Whether the fault's label covers the alert's device: the unit and its zone's racks for a CRAH
// trip; every device for a site-wide fault; the target (a sensor, a rack's top inlet) otherwise.
bool Covers(const sim::Fault& f, const Alert& a, const Topology& topo) {
  const std::string kind(sim::FaultKindName(f.kind));
  if (kind == "crah-trip") {
    if (a.device == f.target) return true;
    for (const Topology::Zone& z : topo.zones) {
      if (z.crah != f.target) continue;
      auto rack = a.labels.find("rack");
      return rack != a.labels.end() &&
             std::find(z.racks.begin(), z.racks.end(), rack->second) != z.racks.end();
    }
    return false;
  }
  if (kind == "chiller-trip" || kind == "utility-outage") return true;
  if (kind == "blanking-gap") return a.device == f.target + "-inlet-top";
  return f.target == "*" || a.device == f.target;
}

// An alert explains a fault when it reports that kind, is about a covered device, and fired while
// the fault was active or within the settle time after (a zone takes minutes to cool down).
constexpr int64_t kSettle = 30 * kMin;
bool Explains(const Alert& a, const sim::Fault& f, const Topology& topo) {
  return KindsOf(a).count(std::string(sim::FaultKindName(f.kind))) && Covers(f, a, topo) &&
         a.starts_at_micros >= f.start_micros && a.starts_at_micros < f.end_micros + kSettle;
}

// One fault per slot, the kinds in turn, 30 minutes into the slot; targets from the seed. A
// blanking gap goes to a rack that has its panels (on one without, the "fault" changes nothing).
std::vector<std::string> Script(int days, int slot_min, const std::vector<std::string>& sealed,
                                uint64_t seed) {
  const std::vector<std::string> kinds = {
      "crah-trip@{}+30m",    "sensor-stuck@{}+2h",    "utility-outage@{}+2m", "sensor-spike@{}+1h",
      "chiller-trip@{}+15m", "sensor-dropout@{}+1h",  "unit-mixup@{}+1h",     "late:{}@{}+30m",
      "sensor-drift@{}+2h",  "blanking-gap:{}@{}+2h", "duplicates@{}+30m",    "reorder@{}+30m",
      "malformed@{}+30m"};
  std::vector<std::string> out;
  for (int slot = 0; slot < days * 24 * 60 / slot_min; ++slot) {
    std::string at = fmt::format("{}m", slot * slot_min + 30);
    const std::string& k = kinds[slot % kinds.size()];
    if (k.starts_with("late")) {
      // One device held back (a buffering gateway), not the whole site.
      out.push_back(fmt::format(
          fmt::runtime(k), fmt::format("room-{}-a0{}-inlet-top", 1 + slot % 2, 1 + slot % 9), at));
    } else if (k.starts_with("blanking-gap")) {
      out.push_back(fmt::format(fmt::runtime(k), sealed[(seed * 7 + slot) % sealed.size()], at));
    } else {
      out.push_back(fmt::format(fmt::runtime(k), at));
    }
  }
  return out;
}

// The racks of the `small` preset that have all their blanking panels, for `seed`.
std::vector<std::string> SealedRacks(uint64_t seed, int64_t start) {
  Result<sim::FacilityConfig> facility = sim::LoadFacility("small");
  CHECK(facility.ok(), "{}", facility.status().message());
  auto sim = sim::CreateWithScenarios(*facility, {.seed = seed, .start_micros = start}, {}, start);
  CHECK(sim.ok(), "{}", sim.status().message());
  std::vector<std::string> sealed;
  for (const sim::Rack& r : (*sim)->model().racks()) {
    if (!r.blanking_gap) sealed.push_back(r.id);
  }
  CHECK(!sealed.empty(), "no rack of the small preset has its blanking panels");
  return sealed;
}

TEST(AlertScoring, EveryFaultKindAgainstTheLabels) {
  const int days = static_cast<int>(EnvInt("DCMON_SCORING_DAYS", 1));
  const int slot_min = static_cast<int>(EnvInt("DCMON_SCORING_SLOT_MIN", 100));
  const uint64_t seed = static_cast<uint64_t>(EnvInt("DCMON_SCORING_SEED", 1));
  const int64_t start = *ParseRfc3339("2025-07-20T00:00:00Z");
  fmt::print(
      "alert scoring: small preset, {} simulated days from 2025-07-20, {}-minute slots, seed {}\n",
      days, slot_min, seed);
  ScoredRun run = Simulate(start, start + days * 24 * kHour,
                           Script(days, slot_min, SealedRacks(seed, start - kWarmUp), seed), seed);

  struct Score {
    int labels = 0, detected = 0, alerts = 0, true_alerts = 0;
  };
  std::map<std::string, Score> by_kind;
  for (const sim::Fault& f : run.faults) {
    Score& s = by_kind[std::string(sim::FaultKindName(f.kind))];
    ++s.labels;
    bool detected = std::any_of(run.paged.begin(), run.paged.end(),
                                [&](const Alert& a) { return Explains(a, f, run.topology); });
    s.detected += detected;
    if (!detected) {
      fmt::print("  missed: {} {} at {}\n", FaultKindName(f.kind), f.target,
                 FormatRfc3339(f.start_micros));
    }
  }
  // Precision per kind: of the alerts that report a kind, those a label of that kind explains.
  int unexplained = 0;
  std::map<std::string, std::pair<int, int>> by_rule;  // paged, explained by a label
  for (const Alert& a : run.paged) {
    bool any = false;
    for (const std::string& kind : KindsOf(a)) {
      bool ok = std::any_of(run.faults.begin(), run.faults.end(), [&](const sim::Fault& f) {
        return FaultKindName(f.kind) == kind && Explains(a, f, run.topology);
      });
      any = any || ok;
      if (KindsOf(a).size() == 1) {
        ++by_kind[kind].alerts;
        by_kind[kind].true_alerts += ok;
      }
    }
    ++by_rule[a.rule].first;
    by_rule[a.rule].second += any;
    if (!any) {
      ++unexplained;
      fmt::print("  unexplained: {} {} at {}\n", a.rule, a.device,
                 FormatRfc3339(a.starts_at_micros));
    }
  }
  fmt::print("{:<16} {:>6} {:>8} {:>7} {:>9} {:>6}\n", "fault kind", "labels", "detected", "recall",
             "precision", "alerts");
  for (const auto& [kind, s] : by_kind) {
    std::string precision =
        s.alerts ? fmt::format("{:.2f}", double(s.true_alerts) / s.alerts) : "-";
    fmt::print("{:<16} {:>6} {:>8} {:>7.2f} {:>9} {:>6}\n", kind, s.labels, s.detected,
               double(s.detected) / s.labels, precision, s.alerts);
  }
  fmt::print("{:<30} {:>6} {:>9} {:>9}\n", "rule", "paged", "explained", "precision");
  for (const auto& [rule, n] : by_rule) {
    fmt::print("{:<30} {:>6} {:>9} {:>9.2f}\n", rule, n.first, n.second,
               double(n.second) / n.first);
  }
  fmt::print("paged alerts {}, unexplained {}, inhibited (explained by an incident) {}\n",
             run.paged.size(), unexplained, run.inhibited.size());

  // CRAH trips: one incident each, within 2 simulated minutes, carrying its zone.
  for (const sim::Fault& f : run.faults) {
    if (f.kind != sim::FaultKind::kCrahTrip) continue;
    int incidents = 0;
    for (const Alert& a : run.paged) {
      if (a.rule != "CrahUnitDown" || !Explains(a, f, run.topology)) continue;
      ++incidents;
      fmt::print("crah-trip {} at {}: incident after {} s, {} racks\n", f.target,
                 FormatRfc3339(f.start_micros), (a.starts_at_micros - f.start_micros) / kS,
                 a.affected_racks.size());
      EXPECT_LE(a.starts_at_micros - f.start_micros, 2 * kMin) << f.target;
      EXPECT_FALSE(a.affected_racks.empty());
    }
    EXPECT_EQ(incidents, 1) << f.target << " at " << FormatRfc3339(f.start_micros);
  }
  EXPECT_EQ(unexplained, 0) << "every paged alert is explained by a label";
  // Every fault kind the default rules detect; transport faults are the loader's to count, not
  // alerts.
  for (const std::string kind :
       {"crah-trip", "chiller-trip", "utility-outage", "sensor-stuck", "sensor-spike",
        "sensor-dropout", "unit-mixup", "late", "sensor-drift", "blanking-gap"}) {
    const Score& s = by_kind[kind];
    EXPECT_GE(double(s.detected) / s.labels, 0.9) << kind;
    if (s.alerts) {
      EXPECT_GE(double(s.true_alerts) / s.alerts, 0.9) << kind;
    }
  }
}

TEST(AlertScoring, NoAlertOnAFaultFreeStretch) {
  // The fast form: the 6 hottest hours of the day (12:00-18:00 UTC, the load's and the weather's
  // peak); with DCMON_SCORING_DAYS set, that many whole days.
  const bool fast = std::getenv("DCMON_SCORING_DAYS") == nullptr;
  const int64_t hours = fast ? 6 : 24 * EnvInt("DCMON_SCORING_DAYS", 1);
  const uint64_t seed = static_cast<uint64_t>(EnvInt("DCMON_SCORING_SEED", 1));
  const int64_t start = *ParseRfc3339(fast ? "2025-07-20T12:00:00Z" : "2025-07-20T00:00:00Z");
  ScoredRun run = Simulate(start, start + hours * kHour, {}, seed);
  for (const Alert& a : run.paged) {
    ADD_FAILURE() << a.rule << " " << a.device << " at " << FormatRfc3339(a.starts_at_micros);
  }
  fmt::print(
      "fault-free: {} simulated hours after a day of warm-up, seed {}: {} alerts ({} inhibited)\n",
      hours, seed, run.paged.size(), run.inhibited.size());
  EXPECT_TRUE(run.inhibited.empty());
}

}  // namespace
}  // namespace dcmon::alert
