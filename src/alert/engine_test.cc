#include "alert/engine.h"

#include <fmt/ranges.h>
#include <gtest/gtest.h>

namespace dcmon::alert {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kT0 = 1'750'000'000 * kS;

Rule Base(std::string name, RuleKind kind) {
  Rule r;
  r.name = std::move(name);
  r.kind = kind;
  r.severity = "warning";
  r.runbook = "do something";
  r.select.source = "sensor";
  return r;
}

SensorReading Inlet(std::string rack, std::string pos, double v, int64_t t) {
  SensorReading s{.device_id = rack + "-inlet-" + pos,
                  .location = "Room 1",
                  .measurement_type = "temperature",
                  .value = v,
                  .timestamp_micros = t};
  s.placement.room = "room-1";
  s.placement.rack = rack;
  s.position = "inlet_" + pos;
  return s;
}

// A test harness: an engine with a fake clock that follows the records' event time.
struct Harness {
  int64_t now = kT0;
  Engine engine;
  explicit Harness(std::vector<Rule> rules, Topology topo = {})
      : engine(*Engine::Create(std::move(rules), std::move(topo), {}, [this] { return now; })) {}
  void Feed(const Record& r) {
    now = std::max(now, std::visit([](const auto& x) { return x.timestamp_micros; }, r));
    engine.Observe(r);
  }
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    for (const AlertEvent& e : engine.TakeEvents())
      out.push_back(fmt::format("{} {} {}", AlertStateName(e.state), e.alert.rule, e.alert.device));
    return out;
  }
};

Rule Hot() {
  Rule r = Base("Hot", RuleKind::kThreshold);
  r.level = 27;
  r.clear = 26;
  r.for_micros = 60 * kS;
  return r;
}

TEST(Engine, ThresholdWaitsForItsPendingPeriod) {
  Harness h({Hot()});
  h.Feed(Inlet("r1", "top", 28, kT0));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"pending Hot r1-inlet-top"});
  h.Feed(Inlet("r1", "top", 28, kT0 + 30 * kS));
  EXPECT_TRUE(h.Take().empty());
  h.Feed(Inlet("r1", "top", 28, kT0 + 60 * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"firing Hot r1-inlet-top"});
  EXPECT_EQ(h.engine.Active().front().starts_at_micros, kT0 + 60 * kS);
}

TEST(Engine, PendingThatStopsHoldingIsDropped) {
  Harness h({Hot()});
  h.Feed(Inlet("r1", "top", 28, kT0));
  h.Feed(Inlet("r1", "top", 25, kT0 + 30 * kS));
  h.Feed(Inlet("r1", "top", 28, kT0 + 60 * kS));
  h.Feed(Inlet("r1", "top", 28, kT0 + 90 * kS));
  EXPECT_EQ(h.Take(),
            (std::vector<std::string>{"pending Hot r1-inlet-top", "pending Hot r1-inlet-top"}));
}

TEST(Engine, HysteresisClearsOnlyBelowTheClearLevel) {
  Rule r = Hot();
  r.for_micros = 0;
  Harness h({r});
  h.Feed(Inlet("r1", "top", 27.5, kT0));
  h.Feed(Inlet("r1", "top", 26.99, kT0 + 30 * kS));  // below level, above clear: still firing
  h.Feed(Inlet("r1", "top", 27.01, kT0 + 60 * kS));
  h.Feed(Inlet("r1", "top", 26.5, kT0 + 90 * kS));
  EXPECT_EQ(h.Take(),
            (std::vector<std::string>{"pending Hot r1-inlet-top", "firing Hot r1-inlet-top"}));
  h.Feed(Inlet("r1", "top", 25.9, kT0 + 120 * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved Hot r1-inlet-top"});
}

TEST(Engine, KeepFiringForHoldsThroughABriefClear) {
  Rule r = Hot();
  r.for_micros = 0;
  r.keep_firing_for_micros = 120 * kS;
  Harness h({r});
  h.Feed(Inlet("r1", "top", 28, kT0));
  h.Feed(Inlet("r1", "top", 25, kT0 + 30 * kS));
  h.Feed(Inlet("r1", "top", 28, kT0 + 60 * kS));  // back before keep_firing_for ran out
  h.Feed(Inlet("r1", "top", 25, kT0 + 90 * kS));
  h.Feed(Inlet("r1", "top", 25, kT0 + 180 * kS));
  EXPECT_EQ(h.Take().size(), 2u);
  h.Feed(Inlet("r1", "top", 25, kT0 + 210 * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved Hot r1-inlet-top"});
}

// Air that does not move (a steady room at 0.01 °C resolution) repeats every sensor's value: no
// sensor is stuck while its whole rack reads flat.
TEST(Engine, SteadyRackIsNotStuck) {
  Rule r = Base("Stuck", RuleKind::kStuck);
  r.category = Category::kSensor;
  r.window_micros = 600 * kS;
  Harness h({r});
  for (int i = 0; i <= 40; ++i) {
    h.Feed(Inlet("r1", "mid", 20.12, kT0 + i * 30 * kS));
    h.Feed(Inlet("r1", "top", 20.2, kT0 + i * 30 * kS));
  }
  EXPECT_TRUE(h.Take().empty());
}

// One sensor drifting alone in a steady rack does not make its flat peers stuck.
TEST(Engine, OneMovingSensorDoesNotMakeItsPeersStuck) {
  Rule r = Base("Stuck", RuleKind::kStuck);
  r.category = Category::kSensor;
  r.window_micros = 600 * kS;
  Harness h({r});
  for (int i = 0; i <= 40; ++i) {
    h.Feed(Inlet("r1", "bottom", 20.1, kT0 + i * 30 * kS));
    h.Feed(Inlet("r1", "mid", 20.12 + 0.01 * i, kT0 + i * 30 * kS));
    h.Feed(Inlet("r1", "top", 20.2, kT0 + i * 30 * kS));
  }
  EXPECT_TRUE(h.Take().empty());
}

TEST(Engine, RateOfChangeOverTheWindowInEitherDirection) {
  Rule r = Base("Fast", RuleKind::kRate);
  r.delta = 5;
  r.window_micros = 900 * kS;
  Harness h({r});
  for (int i = 0; i <= 10; ++i) h.Feed(Inlet("r1", "top", 22 + 0.4 * i, kT0 + i * 60 * kS));
  EXPECT_TRUE(h.Take().empty());  // 4 °C in 10 minutes
  h.Feed(Inlet("r1", "top", 27.5, kT0 + 11 * 60 * kS));
  EXPECT_EQ(h.Take(),
            (std::vector<std::string>{"pending Fast r1-inlet-top", "firing Fast r1-inlet-top"}));
  // A fall counts too: a second sensor dropping 6 °C in 5 minutes.
  h.Feed(Inlet("r2", "top", 30, kT0));
  h.Feed(Inlet("r2", "top", 24, kT0 + 300 * kS));
  EXPECT_EQ(h.Take().size(), 2u);
  // The rise leaves the window: resolves once the oldest low value is older than 15 minutes.
  h.Feed(Inlet("r1", "top", 27.5, kT0 + 20 * 60 * kS));
  h.Feed(Inlet("r1", "top", 27.5, kT0 + 27 * 60 * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved Fast r1-inlet-top"});
}

TEST(Engine, StuckSensorAndItsRecovery) {
  Rule r = Base("Stuck", RuleKind::kStuck);
  r.category = Category::kSensor;
  r.window_micros = 600 * kS;
  Harness h({r});
  for (int i = 0; i <= 20; ++i) {
    h.Feed(Inlet("r1", "mid", 22.31, kT0 + i * 30 * kS));
    h.Feed(Inlet("r1", "top", 22.4 + 0.01 * i, kT0 + i * 30 * kS));  // its rack's air moves
  }
  EXPECT_EQ(h.Take(),
            (std::vector<std::string>{"pending Stuck r1-inlet-mid", "firing Stuck r1-inlet-mid"}));
  h.Feed(Inlet("r1", "mid", 22.32, kT0 + 21 * 30 * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved Stuck r1-inlet-mid"});
}

Rule Silent() {
  Rule r = Base("Silent", RuleKind::kStale);
  r.category = Category::kSensor;
  r.select.source.clear();
  r.after_micros = 120 * kS;
  return r;
}

// Two devices at 30 s: r2 keeps the event clock moving, r1 goes quiet.
TEST(Engine, StaleOnEventTimeAndIngestTimeSeparately) {
  Harness h({Silent()});
  for (int i = 0; i <= 4; ++i) {
    h.Feed(Inlet("r1", "top", 22, kT0 + i * 30 * kS));
    h.Feed(Inlet("r2", "top", 22, kT0 + i * 30 * kS));
  }
  for (int i = 5; i <= 12; ++i) h.Feed(Inlet("r2", "top", 22, kT0 + i * 30 * kS));
  h.engine.Tick();
  std::vector<std::string> events = h.Take();
  EXPECT_EQ(std::count(events.begin(), events.end(), "firing Silent r1-inlet-top"), 2)
      << "event and ingest clock";
  std::vector<Alert> active = h.engine.Active();
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].pending_since_micros, kT0 + 4 * 30 * kS)
      << "the silence began at the last sample";
}

// A device seen once has no cadence yet: a weather station sampling every 5 minutes is not
// stale after the rule's 2 minutes; after its second sample it is judged on 3 × 300 s.
TEST(Engine, StalenessWaitsForTheDeviceCadence) {
  Harness h({Silent()});
  h.Feed(Inlet("slow", "top", 22, kT0));
  for (int i = 1; i <= 10; ++i) h.Feed(Inlet("fast", "top", 22, kT0 + i * 30 * kS));
  h.engine.Tick();
  h.Feed(Inlet("slow", "top", 22, kT0 + 300 * kS));
  for (int i = 11; i <= 38; ++i) h.Feed(Inlet("fast", "top", 22, kT0 + i * 30 * kS));
  h.engine.Tick();
  EXPECT_TRUE(h.Take().empty());
  for (int i = 39; i <= 42; ++i) h.Feed(Inlet("fast", "top", 22, kT0 + i * 30 * kS));
  h.engine.Tick();
  EXPECT_EQ(h.Take().size(), 4u) << "both clocks, pending and firing, after 900 s";
}

// One device with its clock a day ahead does not move the event clock past everyone else.
TEST(Engine, AFutureTimestampDoesNotMakeEveryoneStale) {
  Harness h({Silent()});
  for (int i = 0; i <= 4; ++i) {
    h.Feed(Inlet("r1", "top", 22, kT0 + i * 30 * kS));
    h.Feed(Inlet("r2", "top", 22, kT0 + i * 30 * kS));
  }
  h.engine.Observe(Inlet("r2", "top", 22, kT0 + 86400 * kS));
  h.engine.Observe(Inlet("r2", "top", 22, kT0 + 86430 * kS));
  h.engine.Tick();
  EXPECT_TRUE(h.Take().empty());
}

// A buffered replay: nothing arrives for 10 minutes (ingest clock runs), then the held-back
// records arrive with their original times. The ingest outage stays in the history (fired and
// resolved); the event clock saw no gap in r1's own data once the replay landed.
TEST(Engine, BufferedReplayDoesNotEraseTheIngestOutage) {
  Harness h({Silent()});
  for (int i = 0; i <= 4; ++i) h.Feed(Inlet("r1", "top", 22, kT0 + i * 30 * kS));
  h.now += 600 * kS;
  h.engine.Tick();
  EXPECT_EQ(h.Take(), (std::vector<std::string>{"pending Silent r1-inlet-top",
                                                "firing Silent r1-inlet-top"}));
  for (int i = 5; i <= 25; ++i) h.engine.Observe(Inlet("r1", "top", 22, kT0 + i * 30 * kS));
  std::vector<AlertEvent> events = h.engine.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state, AlertState::kResolved);
  EXPECT_EQ(events[0].alert.clock, "ingest");
  EXPECT_EQ(events[0].alert.ends_at_micros, h.now);
}

// Late records (older than the device's newest) neither resolve an event-time staleness nor
// re-evaluate thresholds: no stale -> recovered -> stale flap.
TEST(Engine, LateDataDoesNotFlap) {
  Rule hot = Hot();
  hot.for_micros = 0;
  Harness h({Silent(), hot});
  for (int i = 0; i <= 4; ++i) h.Feed(Inlet("r1", "top", 22, kT0 + i * 30 * kS));
  for (int i = 0; i <= 12; ++i) h.Feed(Inlet("r2", "top", 22, kT0 + i * 30 * kS));
  h.engine.Tick();
  h.Take();
  h.Feed(Inlet("r1", "top", 35, kT0 + 60 * kS));  // late, and hot
  h.engine.Tick();
  std::vector<std::string> events = h.Take();
  EXPECT_TRUE(std::none_of(events.begin(), events.end(), [](const std::string& e) {
    return e.find("event") != e.npos || e.starts_with("pending Hot");
  })) << fmt::format("{}", fmt::join(events, "; "));
  EXPECT_EQ(h.engine.counters().late_records, 1);
  int event_clock_firing = 0;
  for (const Alert& a : h.engine.Active()) event_clock_firing += a.clock == "event";
  EXPECT_EQ(event_clock_firing, 1);
}

// A backfill: the loader reads partition 1 five minutes behind partition 0 in event time. The event
// clock is the partitions' watermark, so b1 (on the lagging partition, never silent in its own
// data) does not flap stale; a2, silent on the up-to-date partition, still fires within the rule's
// 120 s (+ one sweep). A partition over max_source_lag_s behind stops holding the clock back.
TEST(Engine, PartitionsReadApartInEventTimeDoNotFlap) {
  Harness h({Silent()});
  auto feed = [&](const std::string& rack, int64_t t, int64_t source) {
    h.now = std::max(h.now, t);
    h.engine.Observe(Inlet(rack, "top", 22, t), source);
  };
  for (int i = 0; i <= 40; ++i) {
    const int64_t t = kT0 + i * 30 * kS;
    feed("a1", t, 0);
    if (i <= 20) feed("a2", t, 0);
    if (i >= 10) feed("b1", t - 300 * kS, 1);
  }
  h.engine.Tick();
  int64_t a2_fired = 0;
  for (const AlertEvent& e : h.engine.TakeEvents()) {
    if (e.alert.clock != "event") continue;
    EXPECT_EQ(e.alert.device, "a2-inlet-top")
        << AlertStateName(e.state) << " " << e.alert.device << ": its partition only lags";
    if (e.state == AlertState::kFiring) a2_fired = e.alert.starts_at_micros;
  }
  const int64_t a2_last = kT0 + 20 * 30 * kS;
  ASSERT_NE(a2_fired, 0) << "a2 went silent on an up-to-date partition";
  EXPECT_GE(a2_fired, a2_last + 120 * kS);
  EXPECT_LE(a2_fired, a2_last + 120 * kS + 30 * kS) << "within the rule's after_s and one record";
  // Partition 1 stops: once it is over 600 s behind partition 0 and has not advanced for 600 s of
  // ingest time, b1 is judged on partition 0's time.
  for (int i = 41; i <= 70; ++i) feed("a1", kT0 + i * 30 * kS, 0);
  h.engine.Tick();
  std::vector<AlertEvent> events = h.engine.TakeEvents();
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const AlertEvent& e) {
    return e.state == AlertState::kFiring && e.alert.device == "b1-inlet-top" &&
           e.alert.clock == "event";
  }));
}

// A backfill reading partition 1 fifteen minutes behind partition 0: past max_source_lag_s in event
// time, but it still advances (in ingest time), so it still holds the event clock back.
TEST(Engine, APartitionReadFarBehindButAdvancingHoldsTheClock) {
  Harness h({Silent()});
  h.now = kT0 + 86400 * kS;  // a backfill: the ingest clock sees no silence
  for (int i = 0; i <= 60; ++i) {
    const int64_t t = kT0 + 900 * kS + i * 30 * kS;
    h.engine.Observe(Inlet("a1", "top", 22, t), 0);
    h.engine.Observe(Inlet("b1", "top", 22, t - 900 * kS), 1);
    h.now += kS;
  }
  h.engine.Tick();
  EXPECT_EQ(h.Take(), std::vector<std::string>{});
}

// A partition first read 5 minutes behind the others moves the event clock back: a2, silent for
// real, stays firing until its own data comes (no resolved -> firing flap).
TEST(Engine, APartitionReadLateDoesNotResolveASilence) {
  Harness h({Silent()});
  h.now = kT0 + 86400 * kS;  // a backfill: the ingest clock sees no silence
  for (int i = 0; i <= 20; ++i) {
    const int64_t t = kT0 + i * 30 * kS;
    h.engine.Observe(Inlet("a1", "top", 22, t), 0);
    if (i <= 10) h.engine.Observe(Inlet("a2", "top", 22, t), 0);
  }
  h.engine.Tick();
  EXPECT_EQ(h.Take(), (std::vector<std::string>{"pending Silent a2-inlet-top",
                                                "firing Silent a2-inlet-top"}));
  for (int i = 0; i <= 2; ++i) h.engine.Observe(Inlet("b1", "top", 22, kT0 + i * 30 * kS), 1);
  h.engine.Tick();
  EXPECT_TRUE(h.Take().empty());
  h.engine.Observe(Inlet("a2", "top", 22, kT0 + 630 * kS), 0);
  EXPECT_EQ(h.Take(), (std::vector<std::string>{"resolved Silent a2-inlet-top"}));
}

TEST(Engine, CrahIncidentNamesItsZoneAndInhibitsItsRacks) {
  Rule down = Base("CrahUnitDown", RuleKind::kThreshold);
  down.select.source = "cooling";
  down.select.field = "fan_speed_percent";
  down.below = true;
  down.level = 1;
  down.clear = 5;
  down.zone_incident = true;
  Rule hot = Hot();
  hot.for_micros = 0;
  Topology topo{{{.crah = "room-1-crah-2", .room = "room-1", .racks = {"r1", "r2"}},
                 {.crah = "room-1-crah-3", .room = "room-1", .racks = {"r3"}}}};
  Harness h({down, hot}, topo);
  auto crah = [](double fan, int64_t t) {
    CoolingMetric c{.system_id = "room-1-crah-2",
                    .efficiency_percent = 0,
                    .power_consumption_watts = 0,
                    .timestamp_micros = t};
    c.fan_speed_percent = fan;
    return c;
  };
  h.Feed(Inlet("r1", "top", 28, kT0));  // before the incident: paged
  h.Feed(crah(0, kT0));
  std::vector<AlertEvent> events = h.engine.TakeEvents();
  ASSERT_EQ(events.size(), 4u);
  const Alert& incident = events[3].alert;
  EXPECT_EQ(incident.rule, "CrahUnitDown");
  EXPECT_EQ(incident.affected_racks, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(incident.annotations.at("affected_racks"), "r1,r2");
  h.Feed(Inlet("r2", "top", 28, kT0 + 30 * kS));  // in the zone: inhibited
  h.Feed(Inlet("r3", "top", 28, kT0 + 30 * kS));  // another zone: paged
  SensorReading namesake = Inlet("r2", "top", 28, kT0 + 30 * kS);
  namesake.device_id = "room-2-r2-inlet-top";
  namesake.placement.room = "room-2";
  h.Feed(namesake);  // a rack of the zone's name in another room: paged
  int paged_namesake = 0;
  for (const AlertEvent& e : h.engine.TakeEvents()) {
    if (e.state != AlertState::kFiring) continue;
    EXPECT_EQ(e.alert.inhibited_by, e.alert.device == "r2-inlet-top" ? "room-1-crah-2" : "")
        << e.alert.device;
    paged_namesake += e.alert.device == "room-2-r2-inlet-top";
  }
  EXPECT_EQ(paged_namesake, 1);
  for (const Alert& a : h.engine.Active()) {
    if (a.device == "r1-inlet-top") {
      EXPECT_EQ(a.inhibited_by, "room-1-crah-2");
    }
  }
  h.Feed(crah(60, kT0 + 60 * kS));
  for (const Alert& a : h.engine.Active()) EXPECT_EQ(a.inhibited_by, "") << a.device;
}

// After the unit restarts, the zone's inlets swing for a while: alerts that start then are still
// the incident's (settle), alerts after the settle time are paged.
TEST(Engine, IncidentSettles) {
  Rule down = Base("CrahUnitDown", RuleKind::kThreshold);
  down.select.source = "cooling";
  down.select.field = "fan_speed_percent";
  down.below = true;
  down.level = 1;
  down.clear = 5;
  down.zone_incident = true;
  down.settle_micros = 600 * kS;
  Rule hot = Hot();
  hot.for_micros = 0;
  Harness h({down, hot}, Topology{{{.crah = "crah-1", .room = "room-1", .racks = {"r1"}}}});
  auto crah = [](double fan, int64_t t) {
    CoolingMetric c{.system_id = "crah-1", .timestamp_micros = t};
    c.fan_speed_percent = fan;
    return c;
  };
  h.Feed(crah(0, kT0));
  h.Feed(crah(60, kT0 + 60 * kS));  // resolved
  h.Feed(Inlet("r1", "top", 28, kT0 + 120 * kS));
  h.Feed(Inlet("r1", "top", 25, kT0 + 180 * kS));
  h.Feed(Inlet("r1", "top", 28, kT0 + 700 * kS));
  std::vector<std::string> inhibitors;
  for (const AlertEvent& e : h.engine.TakeEvents()) {
    if (e.state == AlertState::kFiring && e.alert.rule == "Hot") {
      inhibitors.push_back(e.alert.inhibited_by);
    }
  }
  EXPECT_EQ(inhibitors, (std::vector<std::string>{"crah-1", ""}));
}

TEST(Engine, SensorProblemInhibitsTheFacilityAlertOfTheSameDevice) {
  Rule implausible = Base("SensorImplausible", RuleKind::kThreshold);
  implausible.category = Category::kSensor;
  implausible.level = 50;
  implausible.clear = 45;
  Rule hot = Hot();
  hot.for_micros = 0;
  Harness h({hot, implausible});  // order in the file does not matter: sensor rules run first
  h.Feed(Inlet("r1", "top", 73.4, kT0));
  for (const AlertEvent& e : h.engine.TakeEvents()) {
    if (e.state == AlertState::kFiring && e.alert.rule == "Hot") {
      EXPECT_EQ(e.alert.inhibited_by, "SensorImplausible");
    }
  }
}

// After a restart the store gives back what was firing: it stays firing with its original start
// (no second page, no new `for` period), keeps inhibiting its zone, and resolves as before.
TEST(Engine, RestoredIncidentKeepsItsStartAndItsZone) {
  Rule down = Base("CrahUnitDown", RuleKind::kThreshold);
  down.select.source = "cooling";
  down.select.field = "fan_speed_percent";
  down.below = true;
  down.level = 1;
  down.clear = 5;
  down.for_micros = 60 * kS;
  down.zone_incident = true;
  Rule hot = Hot();
  hot.for_micros = 0;
  Topology topo{{{.crah = "room-1-crah-2", .room = "room-1", .racks = {"r1"}}}};
  auto crah = [](double fan, int64_t t) {
    CoolingMetric c{.system_id = "room-1-crah-2",
                    .efficiency_percent = 0,
                    .power_consumption_watts = 0,
                    .timestamp_micros = t};
    c.fan_speed_percent = fan;
    return c;
  };
  Harness before({down, hot}, topo);
  before.Feed(crah(0, kT0));
  before.Feed(crah(0, kT0 + 60 * kS));
  ASSERT_EQ(before.engine.Active().size(), 1u);
  ASSERT_EQ(before.engine.Active()[0].state, AlertState::kFiring);

  Harness after({down, hot}, topo);
  after.now = kT0 + 600 * kS;
  after.engine.Restore(before.engine.Active());
  ASSERT_EQ(after.engine.Active().size(), 1u);
  EXPECT_EQ(after.engine.Active()[0].starts_at_micros, kT0 + 60 * kS);
  after.Feed(crah(0, kT0 + 600 * kS));
  after.Feed(crah(0, kT0 + 660 * kS));
  EXPECT_TRUE(after.Take().empty());  // still firing: not pending again, not fired twice
  after.Feed(Inlet("r1", "top", 28, kT0 + 670 * kS));
  std::vector<AlertEvent> events = after.engine.TakeEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].alert.inhibited_by, "room-1-crah-2");
  after.Feed(crah(60, kT0 + 700 * kS));
  events = after.engine.TakeEvents();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].state, AlertState::kResolved);
  EXPECT_EQ(events[0].alert.rule, "CrahUnitDown");
  EXPECT_EQ(events[0].alert.starts_at_micros, kT0 + 60 * kS);
}

TEST(Engine, RestoreDropsAlertsOfRemovedRules) {
  Alert gone{.rule = "NoSuchRule", .device = "d", .state = AlertState::kFiring};
  Harness h({Hot()});
  h.engine.Restore({gone});
  EXPECT_TRUE(h.engine.Active().empty());
}

Rule Drifting() {
  Rule r = Base("SensorDrift", RuleKind::kAnomaly);
  r.select.source.clear();
  r.category = Category::kSensor;
  r.select.detector = "drift";
  r.level = 0.9;
  r.keep_firing_for_micros = 600 * kS;
  return r;
}

detect::Anomaly Drift(std::string device, int64_t t, double score = 1) {
  return {.device = std::move(device),
          .timestamp_micros = t,
          .value = 24,
          .score = score,
          .detector = detect::DetectorKind::kDrift,
          .category = detect::Category::kSensor};
}

TEST(Engine, AnomalyRuleFiresAtOnceAndResolvesAfterKeepFiringFor) {
  Harness h({Drifting()});
  h.Feed(Inlet("r1", "top", 22, kT0));
  h.engine.ObserveAnomaly(Drift("r1-inlet-top", kT0 + 10 * kS, 0.5));  // below the level
  h.engine.ObserveAnomaly(Drift("r1-inlet-middle", kT0 + 10 * kS));    // another device
  detect::Anomaly stuck = Drift("r1-inlet-top", kT0 + 10 * kS);
  stuck.detector = detect::DetectorKind::kStuck;  // another detector
  h.engine.ObserveAnomaly(stuck);
  EXPECT_EQ(h.Take(), (std::vector<std::string>{"pending SensorDrift r1-inlet-middle",
                                                "firing SensorDrift r1-inlet-middle"}));
  h.engine.ObserveAnomaly(Drift("r1-inlet-top", kT0 + 20 * kS));
  EXPECT_EQ(h.Take(), (std::vector<std::string>{"pending SensorDrift r1-inlet-top",
                                                "firing SensorDrift r1-inlet-top"}));
  const std::vector<Alert> active = h.engine.Active();
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].labels.at("rack"), "r1");  // placed from the device's records
  // A second anomaly within keep_firing_for extends it; event time past it resolves.
  h.engine.ObserveAnomaly(Drift("r1-inlet-top", kT0 + 300 * kS));
  for (int64_t t = 30; t <= 890; t += 30) h.Feed(Inlet("r1", "top", 22, kT0 + t * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved SensorDrift r1-inlet-middle"});
  for (int64_t t = 900; t <= 920; t += 10) h.Feed(Inlet("r1", "top", 22, kT0 + t * kS));
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved SensorDrift r1-inlet-top"});
}

TEST(Engine, SensorAnomalyInhibitsTheFacilityAlertOfTheSameDevice) {
  Rule hot = Hot();
  hot.for_micros = 0;
  Harness h({hot, Drifting()});
  h.Feed(Inlet("r1", "top", 22, kT0));
  h.engine.ObserveAnomaly(Drift("r1-inlet-top", kT0 + 10 * kS));
  h.Feed(Inlet("r1", "top", 28, kT0 + 20 * kS));
  int hot_firing = 0;
  for (const AlertEvent& e : h.engine.TakeEvents()) {
    if (e.state != AlertState::kFiring) continue;
    EXPECT_EQ(e.alert.category, e.alert.rule == "Hot" ? Category::kFacility : Category::kSensor);
    if (e.alert.rule == "Hot") {
      ++hot_firing;
      EXPECT_EQ(e.alert.inhibited_by, "SensorDrift");
    }
  }
  EXPECT_EQ(hot_firing, 1);
}

TEST(Engine, AnomalyRuleSelectsThePositionOfTheBlamedDevice) {
  Rule r = Drifting();
  r.select.position_prefix = "inlet";
  Harness h({r});
  CoolingMetric crah{.system_id = "crah-1", .timestamp_micros = kT0};
  h.Feed(crah);
  h.engine.ObserveAnomaly(Drift("crah-1", kT0));
  h.engine.ObserveAnomaly(Drift("never-reported", kT0));
  EXPECT_TRUE(h.Take().empty());
  h.Feed(Inlet("r1", "top", 22, kT0));
  h.engine.ObserveAnomaly(Drift("r1-inlet-top", kT0));
  EXPECT_EQ(h.Take().size(), 2u);
}

TEST(Engine, OptionsAreValidated) {
  EngineOptions o;
  o.sweep_interval_s = 0;
  auto e = Engine::Create({}, {}, o, [] { return int64_t{0}; });
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("sweep_interval_s"), std::string::npos);
}

TEST(Engine, KpiRuleFiresAfterItsPeriodAndClearsBelowItsClearLevel) {
  Rule pue = Base("PueAboveTarget", RuleKind::kKpi);
  pue.select = {.kpi = "pue_hour"};
  pue.level = 1.6;
  pue.clear = 1.55;
  pue.for_micros = 3600 * kS;
  Harness h({pue});
  h.engine.ObserveKpi("cooling_share", 0.9, kT0);  // no rule watches it
  h.engine.ObserveKpi("pue_hour", 1.7, kT0);
  EXPECT_EQ(h.Take(), std::vector<std::string>{"pending PueAboveTarget pue_hour"});
  h.engine.ObserveKpi("pue_hour", 1.65, kT0 + 1800 * kS);
  h.engine.ObserveKpi("pue_hour", 1.2, kT0 + 1700 * kS);  // out of order: not evaluated
  h.engine.ObserveKpi("pue_hour", NAN, kT0 + 1900 * kS);  // unknown: not evaluated
  EXPECT_TRUE(h.Take().empty());
  h.engine.ObserveKpi("pue_hour", 1.62, kT0 + 3600 * kS);
  EXPECT_EQ(h.Take(), std::vector<std::string>{"firing PueAboveTarget pue_hour"});
  h.engine.ObserveKpi("pue_hour", 1.58, kT0 + 3700 * kS);  // under level, above clear
  EXPECT_TRUE(h.Take().empty());
  h.engine.ObserveKpi("pue_hour", 1.5, kT0 + 3800 * kS);
  EXPECT_EQ(h.Take(), std::vector<std::string>{"resolved PueAboveTarget pue_hour"});
}

TEST(Engine, KpiRulesMatchNoRecord) {
  Rule share = Base("CoolingShareHigh", RuleKind::kKpi);
  share.select = {.kpi = "cooling_share"};
  share.level = 0.4;
  share.clear = 0.4;
  Harness h({share});
  h.Feed(Inlet("r1", "top", 99, kT0));
  EXPECT_TRUE(h.Take().empty());
  EXPECT_EQ(h.engine.counters().evaluations, 0);
}

}  // namespace
}  // namespace dcmon::alert
