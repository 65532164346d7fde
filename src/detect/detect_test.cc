#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "detect/anomaly.h"
#include "detect/facility_detector.h"
#include "detect/score.h"
#include "detect/sensor_health.h"
#include "detect/series_detector.h"

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

}  // namespace
}  // namespace dcmon::detect
