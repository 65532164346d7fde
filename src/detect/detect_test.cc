#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <vector>

#include "detect/anomaly.h"
#include "detect/facility_detector.h"
#include "detect/online.h"
#include "detect/score.h"
#include "detect/sensor_health.h"
#include "detect/series_detector.h"
#include "detect/watermark.h"

namespace dcmon::detect {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kT0 = 1'755'000'000 * kSecond;  // 2025-08-12

std::mt19937_64 Rng(const char* test) {
  const uint64_t seed = 20261201;
  std::printf("%s: seed %llu\n", test, static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

TEST(Score, MeaningOnTheDocumentedScale) {
  EXPECT_EQ(Score(0), 0);
  EXPECT_EQ(Score(-3), 0);
  EXPECT_NEAR(Score(5), 0.3935, 1e-3);
  EXPECT_NEAR(Score(-5), 0.3935, 1e-3);
  EXPECT_GT(Score(7.3), kAlertLevel - 0.01);
  EXPECT_LT(Score(7.2), kAlertLevel);
  EXPECT_EQ(Score(NAN), 0);
}

TEST(SeriesOptions, ValidateNamesTheField) {
  EXPECT_TRUE(SeriesOptions{}.Validate().ok());
  Status s = SeriesOptions{.level_gain = 2}.Validate();
  EXPECT_EQ(s.message(), "level_gain: must be in 0.001..1");
  EXPECT_FALSE(SeriesOptions{.warmup_points = 0}.Validate().ok());
  EXPECT_FALSE(HealthOptions{.dropout_cadences = 0.5}.Validate().ok());
  EXPECT_FALSE(FacilityDetectorOptions{.implausible_power_ratio = 1}.Validate().ok());
}

// A noisy daily cycle sampled every `cadence` seconds for `days`; returns the max score seen
// after the warm-up day.
double MaxScoreOnCleanSeries(int64_t cadence, int days, std::mt19937_64& rng) {
  SeriesDetector d;
  std::normal_distribution<double> noise(0, 0.2);
  double max_score = 0;
  for (int64_t t = 0; t < days * 86400; t += cadence) {
    const double v = 22 + 3 * std::sin(2 * M_PI * static_cast<double>(t) / 86400) + noise(rng);
    const SeriesPoint p = d.Update(kT0 + t * kSecond, v);
    if (t > 86400) max_score = std::max(max_score, p.score);
  }
  return max_score;
}

TEST(SeriesDetector, QuietOnCleanSeriesAtAnyCadence) {
  auto rng = Rng("QuietOnCleanSeriesAtAnyCadence");
  EXPECT_LT(MaxScoreOnCleanSeries(10, 3, rng), kAlertLevel);
  EXPECT_LT(MaxScoreOnCleanSeries(300, 14, rng), kAlertLevel);
  EXPECT_LT(MaxScoreOnCleanSeries(3600, 60, rng), kAlertLevel);
}

TEST(SeriesDetector, InfersCadence) {
  SeriesDetector d;
  for (int i = 0; i < 100; ++i) d.Update(kT0 + i * 300 * kSecond, 1.0 + (i % 3));
  EXPECT_NEAR(d.cadence_s(), 300, 1);
}

TEST(SeriesDetector, ScoresASpikeAndOutliersDoNotDragTheBaseline) {
  auto rng = Rng("ScoresASpike");
  std::normal_distribution<double> noise(0, 0.1);
  SeriesDetector d;
  int64_t t = kT0;
  for (int i = 0; i < 4000; ++i, t += 30 * kSecond) d.Update(t, 20 + noise(rng));
  const double level = d.level();
  const SeriesPoint spike = d.Update(t, 30);
  t += 30 * kSecond;
  EXPECT_GE(spike.score, kAlertLevel);
  EXPECT_GT(spike.z, 0);
  // Twenty more isolated spikes among normal samples: the level moves by a few clipped sigmas at
  // most, not towards 30.
  for (int i = 0; i < 200; ++i, t += 30 * kSecond) d.Update(t, i % 10 == 0 ? 30 : 20 + noise(rng));
  EXPECT_LT(std::fabs(d.level() - level), 1.0);
}

TEST(SeriesDetector, AdaptsToANewRegime) {
  auto rng = Rng("AdaptsToANewRegime");
  std::normal_distribution<double> noise(0, 0.1);
  SeriesDetector d;
  int64_t t = kT0;
  for (int i = 0; i < 2000; ++i, t += 60 * kSecond) d.Update(t, 20 + noise(rng));
  int alarms = 0;
  bool changed = false;
  for (int i = 0; i < 500; ++i, t += 60 * kSecond) {
    const SeriesPoint p = d.Update(t, 25 + noise(rng));
    alarms += p.score >= kAlertLevel;
    changed = changed || p.regime_change;
  }
  EXPECT_TRUE(changed);
  EXPECT_GE(alarms, 1);
  EXPECT_LE(alarms, 10);  // not forever
  EXPECT_NEAR(d.level(), 25, 0.3);
}

TEST(SeriesDetector, LearnsTheDailyProfileOfAnHourlySeries) {
  auto rng = Rng("LearnsTheDailyProfile");
  std::normal_distribution<double> noise(0, 0.3);
  SeriesDetector d;
  double late_abs_z = 0;
  int late = 0;
  for (int h = 0; h < 24 * 30; ++h) {
    const double v = 15 + 6 * std::cos(2 * M_PI * (h % 24 - 15) / 24.0) + noise(rng);
    const SeriesPoint p = d.Update(kT0 + h * 3600 * kSecond, v);
    if (h > 24 * 20) late_abs_z += std::fabs(p.z), ++late;
  }
  // Without the profile, the hourly swing (up to 1.6 degC per hour) would dominate the residuals.
  EXPECT_LT(late_abs_z / late, 2.0);
}

TEST(SeriesDetector, DriftZSeesASlowRamp) {
  auto rng = Rng("DriftZSeesASlowRamp");
  std::normal_distribution<double> noise(0, 0.02);
  SeriesDetector d;
  int64_t t = kT0;
  for (int i = 0; i < 4000; ++i, t += 30 * kSecond) d.Update(t, noise(rng));
  double max_step = 0, max_drift = 0;
  for (int i = 0; i < 240; ++i, t += 30 * kSecond) {  // +1 per hour for two hours
    const SeriesPoint p = d.Update(t, i / 120.0 + noise(rng));
    max_step = std::max(max_step, p.score);
    max_drift = std::max(max_drift, Score(p.drift_z));
  }
  EXPECT_LT(max_step, kAlertLevel);
  EXPECT_GE(max_drift, kAlertLevel);
}

TEST(SeriesDetector, IgnoresOutOfOrderAndNonFinitePoints) {
  SeriesDetector d;
  d.Update(kT0, 1);
  d.Update(kT0 + kSecond, 2);
  EXPECT_EQ(d.Update(kT0, 100).score, 0);
  EXPECT_EQ(d.Update(kT0 + 2 * kSecond, NAN).score, 0);
  EXPECT_EQ(d.points(), 2);
}

TEST(SensorHealth, StuckAfterManyTimesItsUsualRun) {
  SensorHealth h;
  int64_t t = kT0;
  for (int i = 0; i < 200; ++i, t += 30 * kSecond) {
    ASSERT_EQ(h.Observe(t, 20 + 0.01 * (i % 7)), HealthFinding::kNone) << i;
  }
  HealthFinding f = HealthFinding::kNone;
  int n = 0;
  while (f == HealthFinding::kNone && n < 100) f = h.Observe(t += 30 * kSecond, 20.5), ++n;
  EXPECT_EQ(f, HealthFinding::kStuck);
  EXPECT_EQ(n, 20);  // max(stuck_min_points 20, 12 x usual run of 1)
}

TEST(SensorHealth, RailValue) {
  SensorHealth h({}, kTemperatureRails);
  int64_t t = kT0;
  for (int i = 0; i < 50; ++i, t += 30 * kSecond) h.Observe(t, 20 + 0.1 * (i % 2));
  EXPECT_EQ(h.Observe(t += 30 * kSecond, 85), HealthFinding::kNone);
  EXPECT_EQ(h.Observe(t += 30 * kSecond, 85), HealthFinding::kNone);
  EXPECT_EQ(h.Observe(t += 30 * kSecond, 85), HealthFinding::kRail);
}

TEST(SensorHealth, DropoutAndBurst) {
  SensorHealth h;
  int64_t t = kT0;
  for (int i = 0; i < 50; ++i, t += 15 * kSecond) h.Observe(t, i);
  EXPECT_FALSE(h.Silent(t + 45 * kSecond));
  EXPECT_TRUE(h.Silent(t + 61 * kSecond));
  HealthFinding f = HealthFinding::kNone;
  for (int i = 0; i < 40 && f == HealthFinding::kNone; ++i) f = h.Observe(t += kSecond / 10, i);
  EXPECT_EQ(f, HealthFinding::kBurst);
}

TEST(FacilityDetector, StoppedCrahIsReportedOnItsFirstSample) {
  Topology topo{.zones = {{.crah = "r-crah-1", .room = "r", .racks = {"r-a01"}}}};
  std::vector<Anomaly> seen;
  FacilityDetector det({}, topo, [&](const Anomaly& a) { seen.push_back(a); });
  int64_t t = kT0;
  for (int i = 0; i < 100; ++i, t += 30 * kSecond) {
    det.Observe(CoolingMetric{.system_id = "r-crah-1",
                              .efficiency_percent = 98,
                              .power_consumption_watts = 1500.0 + (i % 3),
                              .timestamp_micros = t,
                              .supply_air_temp_celsius = 18 + 0.01 * (i % 4),
                              .return_air_temp_celsius = 30,
                              .fan_speed_percent = 60});
  }
  EXPECT_TRUE(seen.empty());
  det.Observe(CoolingMetric{.system_id = "r-crah-1",
                            .efficiency_percent = 0,
                            .power_consumption_watts = 0,
                            .timestamp_micros = t,
                            .fan_speed_percent = 0});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].device, "r-crah-1");
  EXPECT_EQ(seen[0].detector, DetectorKind::kUnitStopped);
  EXPECT_EQ(seen[0].timestamp_micros, t);
}

// A zone of six racks (middle inlets, humidity, power) under one CRAH, fed 30 s samples; `air(t,
// rack)` is each inlet's departure from its own level, `moved(t)` the unit's (return - supply) x
// fan departure, as a share; `misread(t, rack)` what a middle inlet reads beyond its air. The
// room's dew point is 8 degC: humidity is what that air holds at the inlet's true temperature.
struct Zone {
  static constexpr int kRacks = 6;
  std::vector<Anomaly> seen;
  FacilityDetector det;
  int64_t t = kT0;
  Zone()
      : det({},
            Topology{.zones = {{.crah = "z-crah-1",
                                .room = "z",
                                .racks = {"z-a01", "z-a02", "z-a03", "z-a04", "z-a05", "z-a06"}}}},
            [this](const Anomaly& a) { seen.push_back(a); }) {}
  template <typename Air, typename Moved, typename Misread>
  void Run(int steps, std::mt19937_64& rng, Air air, Moved moved, Misread misread) {
    std::normal_distribution<double> noise(0, 0.02);
    for (int i = 0; i < steps; ++i, t += 30 * kSecond) {
      det.Observe(CoolingMetric{.system_id = "z-crah-1",
                                .efficiency_percent = 98,
                                .power_consumption_watts = 1500.0 + noise(rng),
                                .timestamp_micros = t,
                                .supply_air_temp_celsius = 20,
                                .return_air_temp_celsius = 20 + 12 * (1 + moved(t)),
                                .fan_speed_percent = 50});
      for (int r = 0; r < kRacks; ++r) {
        const std::string rack = "z-a0" + std::to_string(r + 1);
        const double inlet = 20.3 + 0.1 * r + air(t, r) + noise(rng);
        det.Observe(SensorReading{.device_id = rack + "-inlet-middle",
                                  .measurement_type = "temperature",
                                  .value = inlet + misread(t, r),
                                  .timestamp_micros = t,
                                  .placement = {.room = "z", .rack = rack},
                                  .position = "inlet_middle"});
        constexpr double a = 17.62, b = 243.12, dew_point = 8;  // Magnus, inverted
        det.Observe(SensorReading{
            .device_id = rack + "-humidity",
            .measurement_type = "humidity",
            .value = 100 * std::exp(a * dew_point / (b + dew_point) - a * inlet / (b + inlet)),
            .timestamp_micros = t,
            .placement = {.room = "z", .rack = rack}});
        det.Observe(SensorReading{.device_id = rack + "-pdu",
                                  .measurement_type = "power",
                                  .value = 6000 + 20 * noise(rng),
                                  .timestamp_micros = t,
                                  .placement = {.room = "z", .rack = rack}});
      }
    }
  }
};

double Ramp(int64_t t, int64_t from, double per_hour, double limit) {
  return t < from ? 0
                  : std::min(limit, per_hour * static_cast<double>(t - from) / (3600 * kSecond));
}

TEST(FacilityDetector, AZoneWhoseAirMovesAsOneIsNotNDriftingInlets) {
  auto rng = Rng("AZoneWhoseAirMovesAsOneIsNotNDriftingInlets");
  Zone z;
  auto none = [](int64_t) { return 0.0; };
  auto right = [](int64_t, int) { return 0.0; };
  z.Run(2 * 2880, rng, right, none, right);
  ASSERT_TRUE(z.seen.empty()) << z.seen[0].explanation;
  // The units' fans settle: every inlet of the zone warms 0.5 K within the hour, supply unchanged.
  const int64_t from = z.t;
  auto warmer = [&](int64_t t, int) { return Ramp(t, from, 0.5, 0.5); };
  z.Run(8 * 120, rng, warmer, none, right);
  EXPECT_TRUE(z.seen.empty()) << z.seen[0].device << ": " << z.seen[0].explanation;
  // One middle inlet drifting on its own is that sensor's, also where its rack's dew point (from
  // its reading and the rack's humidity) follows it.
  const int64_t drift = z.t;
  z.Run(4 * 120, rng, warmer, none,
        [&](int64_t t, int r) { return r == 2 ? Ramp(t, drift, 1.0, 2.0) : 0.0; });
  ASSERT_FALSE(z.seen.empty());
  for (const Anomaly& a : z.seen) EXPECT_EQ(a.device, "z-a03-inlet-middle") << a.explanation;
}

TEST(FacilityDetector, ACrahsShareOfItsZonesHeatMovesByPercents) {
  auto rng = Rng("ACrahsShareOfItsZonesHeatMovesByPercents");
  Zone z;
  auto still = [](int64_t, int) { return 0.0; };
  z.Run(
      2 * 2880, rng, still, [](int64_t) { return 0.0; }, still);
  ASSERT_TRUE(z.seen.empty()) << z.seen[0].explanation;
  // Its neighbours take 8 % of its heat as their fans settle: not an anomaly.
  const int64_t from = z.t;
  z.Run(
      4 * 120, rng, still, [&](int64_t t) { return -Ramp(t, from, 0.08, 0.08); }, still);
  EXPECT_TRUE(z.seen.empty()) << z.seen[0].device << ": " << z.seen[0].explanation;
  // A third of its heat gone is.
  const int64_t cut = z.t;
  z.Run(
      4 * 120, rng, still, [&](int64_t t) { return -0.08 - Ramp(t, cut, 0.3, 0.3); }, still);
  ASSERT_FALSE(z.seen.empty());
  EXPECT_EQ(z.seen[0].device, "z-crah-1");
  EXPECT_EQ(z.seen[0].detector, DetectorKind::kCrahDeltaT);
}

TEST(FacilityDetector, APueMoveWithinItsMetersAccuracyIsNotADrift) {
  auto rng = Rng("APueMoveWithinItsMetersAccuracyIsNotADrift");
  std::normal_distribution<double> noise(0, 1e-4);
  std::vector<Anomaly> seen;
  FacilityDetector det({}, Topology{}, [&](const Anomaly& a) { seen.push_back(a); });
  int64_t t = kT0;
  auto feed = [&](int steps, auto pue) {
    for (int i = 0; i < steps; ++i, t += 15 * kSecond) {
      const double it = 100'000 * (1 + 0.05 * std::sin(static_cast<double>(i) * 1e-3));
      det.Observe(SensorReading{.device_id = "meter_it",
                                .measurement_type = "power",
                                .value = it,
                                .timestamp_micros = t});
      det.Observe(SensorReading{.device_id = "meter_facility",
                                .measurement_type = "power",
                                .value = it * (pue(t) + noise(rng)),
                                .timestamp_micros = t});
    }
  };
  feed(2 * 5760, [](int64_t) { return 1.39; });
  ASSERT_TRUE(seen.empty()) << seen[0].explanation;
  const int64_t from = t;
  feed(4 * 240, [&](int64_t t) { return 1.39 + Ramp(t, from, 0.002, 0.002); });
  EXPECT_TRUE(seen.empty()) << seen[0].device << ": " << seen[0].explanation;
  const int64_t rise = t;
  feed(4 * 240, [&](int64_t t) { return 1.392 + Ramp(t, rise, 0.1, 0.1); });
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].detector, DetectorKind::kPue);
}

// The plant's power follows the heat load: a 1 % move of a quiet baseline (the weather, an
// economizer step) is not a fault, a chiller that stops is.
TEST(FacilityDetector, APlantPowerMoveOfAPercentIsNotAnAnomaly) {
  auto rng = Rng("APlantPowerMoveOfAPercentIsNotAnAnomaly");
  std::normal_distribution<double> noise(0, 25);  // W, on 50 kW
  std::vector<Anomaly> seen;
  FacilityDetector det({}, Topology{}, [&](const Anomaly& a) { seen.push_back(a); });
  int64_t t = kT0;
  auto feed = [&](int steps, double watts) {
    for (int i = 0; i < steps; ++i, t += 30 * kSecond) {
      det.Observe(CoolingMetric{.system_id = "chiller-plant",
                                .efficiency_percent = 80,
                                .power_consumption_watts = watts + noise(rng),
                                .timestamp_micros = t});
    }
  };
  feed(2 * 2880, 50'000);
  ASSERT_TRUE(seen.empty()) << seen[0].explanation;
  feed(240, 50'500);
  EXPECT_TRUE(seen.empty()) << seen[0].device << ": " << seen[0].explanation;
  feed(20, 5'000);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].device, "chiller-plant");
  EXPECT_EQ(seen[0].detector, DetectorKind::kLevel);
}

TEST(FacilityDetector, AnImplausibleJumpIsSeenWithoutATopology) {
  std::vector<Anomaly> seen;
  FacilityDetector det({}, Topology{}, [&](const Anomaly& a) { seen.push_back(a); });
  int64_t t = kT0;
  auto inlet = [&](double v) {
    SensorReading r{.device_id = "r-a01-inlet-middle",
                    .measurement_type = "temperature",
                    .value = v,
                    .timestamp_micros = t};
    r.placement.rack = "r-a01";  // a rack the (empty) topology does not name
    r.position = "inlet_middle";
    det.Observe(r);
    t += 30 * kSecond;
  };
  for (int i = 0; i < 10; ++i) inlet(22 + 0.01 * (i % 2));
  ASSERT_TRUE(seen.empty());
  inlet(71.6);  // degF reported as degC
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].detector, DetectorKind::kImplausible);
  EXPECT_EQ(seen[0].category, Category::kSensor);
  EXPECT_NE(seen[0].explanation.find("degC"), std::string::npos) << seen[0].explanation;
}

// A departure that arrives in one sample (a blanking panel out: the top inlet +2.6 K at once) is a
// step of its relation, reported once as inlet-supply, not also as the sensor drifting.
TEST(FacilityDetector, AStepIsNotAlsoADrift) {
  const std::vector<std::string> racks = {"r-a01", "r-a02", "r-a03", "r-a04", "r-a05", "r-a06"};
  Topology topo{.zones = {{.crah = "r-crah-1", .room = "r", .racks = racks}}};
  std::vector<Anomaly> seen;
  FacilityDetector det({}, topo, [&](const Anomaly& a) { seen.push_back(a); });
  auto rng = Rng("AStepIsNotAlsoADrift");
  std::normal_distribution<double> noise(0, 0.02);
  int64_t t = kT0;
  auto feed = [&](int steps, double gap) {
    for (int i = 0; i < steps; ++i, t += 30 * kSecond) {
      const double supply = 18 + 0.3 * std::sin(static_cast<double>(i) * 2e-3);
      det.Observe(CoolingMetric{.system_id = "r-crah-1",
                                .efficiency_percent = 98,
                                .power_consumption_watts = 1500,
                                .timestamp_micros = t,
                                .supply_air_temp_celsius = supply,
                                .return_air_temp_celsius = 30,
                                .fan_speed_percent = 60});
      for (const std::string& rack : racks) {
        SensorReading r{
            .device_id = rack + "-inlet-top",
            .measurement_type = "temperature",
            .value =
                std::round((supply + 2 + noise(rng) + (rack == "r-a01" ? gap : 0)) * 100) / 100,
            .timestamp_micros = t};
        r.placement.room = "r";
        r.placement.rack = rack;
        r.position = "inlet_top";
        det.Observe(r);
      }
    }
  };
  feed(2 * 2880 + 60, 0);
  ASSERT_TRUE(seen.empty()) << seen[0].device << ": " << seen[0].explanation;
  feed(120, 2.6);
  ASSERT_FALSE(seen.empty());
  for (const Anomaly& a : seen) {
    EXPECT_EQ(a.device, "r-a01-inlet-top");
    EXPECT_NE(a.detector, DetectorKind::kDrift) << a.explanation;
  }
  EXPECT_EQ(seen[0].detector, DetectorKind::kInletSupply);
}

TEST(OnlineDetector, KeepsAnomaliesAtItsLevelAndJudgesAtMostMaxDevices) {
  EXPECT_FALSE(OnlineDetector::Create({.min_score = 0}, {}).ok());
  EXPECT_FALSE(OnlineDetector::Create({.max_devices = 0}, {}).ok());
  auto det = OnlineDetector::Create({.max_devices = 1}, {});
  ASSERT_TRUE(det.ok());
  std::vector<Record> batch;
  int64_t t = kT0;
  for (int i = 0; i < 12; ++i, t += 30 * kSecond) {
    for (const char* id : {"a-temp", "b-temp"}) {
      batch.push_back(SensorReading{.device_id = id,
                                    .measurement_type = "temperature",
                                    .value = i == 11 ? 80.0 : 22.0 + 0.01 * (i % 2),
                                    .timestamp_micros = t});
    }
  }
  std::vector<Anomaly> found = (*det)->ObserveBatch(batch);
  ASSERT_EQ(found.size(), 1u);  // b-temp jumps too, but it is beyond max_devices
  EXPECT_EQ(found[0].device, "a-temp");
  EXPECT_EQ((*det)->counters().records, 24);
  EXPECT_EQ((*det)->counters().unjudged_records, 12);
  EXPECT_EQ((*det)->counters().anomalies, 1);
}

// A temperature sample of `id` at `t` from `source`, toggling by 0.01 so that it is not stuck.
void Sample(OnlineDetector& det, std::vector<Anomaly>& found, const char* id, int64_t t,
            int64_t source) {
  det.Observe(SensorReading{.device_id = id,
                            .measurement_type = "temperature",
                            .value = 22.0 + 0.01 * static_cast<double>((t / kSecond) % 2),
                            .timestamp_micros = t},
              found, source);
}

// Two Kafka partitions read apart in event time (a backlog): the devices of the one behind are not
// silent; a device that really stops is, once the watermark passes its cadence.
TEST(OnlineDetector, SilenceIsJudgedAtTheSourcesWatermark) {
  auto det = OnlineDetector::Create({}, {});
  ASSERT_TRUE(det.ok());
  std::vector<Anomaly> found;
  auto sample = [&](const char* id, int64_t t, int64_t source) {
    Sample(**det, found, id, t, source);
  };
  // Partition 1 is read 5 minutes ahead of partition 2, both every 30 s.
  for (int64_t i = 0; i < 60; ++i) {
    sample("ahead", kT0 + (i + 10) * 30 * kSecond, 1);
    sample("behind", kT0 + i * 30 * kSecond, 2);
  }
  EXPECT_TRUE(found.empty()) << found[0].device << ": " << found[0].explanation;
  // "behind" stops: once partition 2's other device moves the watermark on, it is silent.
  for (int64_t i = 60; i < 80; ++i) {
    sample("ahead", kT0 + (i + 10) * 30 * kSecond, 1);
    sample("other-on-2", kT0 + i * 30 * kSecond, 2);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].device, "behind");
  EXPECT_EQ(found[0].detector, DetectorKind::kDropout);
}

// A backfill: partition 2 is read 20 minutes behind partition 1 in event time, but it advances,
// so it holds the watermark back however far behind it is (a lag bound in event time alone flagged
// its healthy devices as dropouts in `dcmon run`'s backfill). Once it has not advanced for
// max_source_lag_s of ingest time as well it has stopped, and its device is silent.
TEST(OnlineDetector, ASourceFarBehindButAdvancingHoldsTheWatermarkUntilItStops) {
  int64_t wall = kT0;
  auto det = OnlineDetector::Create({}, {}, [&wall] { return wall; });
  ASSERT_TRUE(det.ok());
  std::vector<Anomaly> found;
  auto sample = [&](const char* id, int64_t t, int64_t source) {
    Sample(**det, found, id, t, source);
  };
  for (int64_t i = 0; i < 120; ++i) {
    wall += kSecond;
    sample("ahead", kT0 + (i + 40) * 30 * kSecond, 1);
    sample("behind", kT0 + i * 30 * kSecond, 2);
  }
  EXPECT_TRUE(found.empty()) << found[0].device << ": " << found[0].explanation;
  // Partition 2 stops: partition 1 goes on, and once partition 2 has not advanced for 10 minutes
  // of ingest time "behind" is silent.
  const int64_t stopped = wall;
  for (int64_t i = 120; i < 400 && found.empty(); ++i) {
    wall += 10 * kSecond;
    sample("ahead", kT0 + (i + 40) * 30 * kSecond, 1);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].device, "behind");
  EXPECT_EQ(found[0].detector, DetectorKind::kDropout);
  EXPECT_GT(wall - stopped, 600 * kSecond) << "not before the source had stopped";
}

// The watermark's semantics, pinned on the watermark alone (cut-off 600 s): a partition far behind
// in event time holds it while it advances in ingest time, and is let go once it has not advanced
// for the cut-off; one within the cut-off holds it however long it is idle.
TEST(SourceWatermark, AFarBehindSourceHoldsWhileItAdvancesAndIsReleasedOnceItStops) {
  constexpr int64_t kCut = 600 * kSecond;
  SourceWatermark w(kCut);
  EXPECT_EQ(w.Mark(kT0), INT64_MIN);
  int64_t wall = kT0;
  for (int64_t i = 0; i < 100; ++i, wall += kSecond) {
    w.Advance(1, kT0 + (i + 60) * 30 * kSecond, wall);  // 30 minutes ahead
    w.Advance(2, kT0 + i * 30 * kSecond, wall);
    EXPECT_EQ(w.Mark(wall), kT0 + i * 30 * kSecond) << i;
  }
  const int64_t last2 = kT0 + 99 * 30 * kSecond, stopped_at = wall - kSecond;
  w.Advance(1, kT0 + 200 * 30 * kSecond, wall);
  EXPECT_EQ(w.Mark(stopped_at + kCut), last2);  // idle for exactly the cut-off: still holds
  EXPECT_EQ(w.Mark(stopped_at + kCut + 1), kT0 + 200 * 30 * kSecond);  // stopped: let go
  EXPECT_EQ(w.Mark(stopped_at), last2);  // judged at the ingest time asked about
  // Back within the cut-off of the newest, it holds the mark again, idle or not.
  w.Advance(2, kT0 + 190 * 30 * kSecond, stopped_at + kCut + 1);
  EXPECT_EQ(w.Mark(INT64_MAX), kT0 + 190 * 30 * kSecond);
  // Without ingest times a source is judged on event time alone.
  SourceWatermark event_only(kCut);
  event_only.Advance(1, kT0 + kCut + 1);
  event_only.Advance(2, kT0);
  EXPECT_EQ(event_only.Mark(), kT0 + kCut + 1);
  event_only.Advance(3, kT0 + 2);  // within the cut-off: holds it
  event_only.Advance(3, kT0 + 1);  // older than its newest: no change
  EXPECT_EQ(event_only.Mark(), kT0 + 2);
}

// The ordered watermark gives the scan over every source's answer (its definition) on random
// streams: sources advancing at their own pace, stalling, jumping back within and beyond the
// cut-off.
TEST(SourceWatermark, SameMarkAsTheScanOverEverySource) {
  const uint64_t seed = std::random_device{}();
  std::printf("SourceWatermark seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  constexpr int64_t kCut = 600 * kSecond;
  struct Scan {
    std::map<int64_t, std::pair<int64_t, int64_t>> sources;  // id -> (newest, advanced)
    void Advance(int64_t id, int64_t t, int64_t ingest) {
      auto [it, added] = sources.try_emplace(id, t, ingest);
      if (!added && t > it->second.first) it->second = {t, ingest};
    }
    int64_t Mark(int64_t ingest) const {
      if (sources.empty()) return INT64_MIN;
      int64_t newest = INT64_MIN;
      for (const auto& [id, s] : sources) newest = std::max(newest, s.first);
      int64_t mark = newest;
      for (const auto& [id, s] : sources) {
        const bool stopped =
            newest - s.first > kCut && (s.second == INT64_MIN || ingest - s.second > kCut);
        if (!stopped) mark = std::min(mark, s.first);
      }
      return mark;
    }
  } scan;
  SourceWatermark w(kCut);
  int64_t wall = kT0;
  std::vector<int64_t> pos(16, kT0);
  for (int i = 0; i < 20'000; ++i) {
    const int64_t id = static_cast<int64_t>(rng() % pos.size());
    wall += static_cast<int64_t>(rng() % 20) * kSecond;
    pos[id] += static_cast<int64_t>(rng() % 120) * kSecond - 10 * kSecond;
    if (rng() % 50 == 0) pos[id] -= 2 * kCut;  // re-read from far back
    const int64_t ingest = rng() % 10 == 0 ? INT64_MIN : wall;
    w.Advance(id, pos[id], ingest);
    scan.Advance(id, pos[id], ingest);
    const int64_t at = wall + static_cast<int64_t>(rng() % 1200) * kSecond;
    ASSERT_EQ(w.Mark(at), scan.Mark(at)) << "step " << i << ", seed " << seed;
  }
}

}  // namespace
}  // namespace dcmon::detect
