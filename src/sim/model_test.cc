// The physical checks of issue #3, run on the shipped presets.
#include "sim/model.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "core/time.h"

namespace dcmon::sim {
namespace {

int64_t At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

struct Energy {
  double facility = 0, it = 0, cooling = 0, coil_minus_fans = 0;
  double min_inlet = 1e9, max_inlet = -1e9;
  double pue() const { return facility / it; }
  double cooling_share() const { return cooling / facility; }
};

// Integrates energy over `hours` in steps of `dt` seconds.
Energy Simulate(Model& m, double hours, double dt = 10) {
  Energy e;
  for (double t = 0; t < hours * 3600; t += dt) {
    m.Step(dt);
    e.facility += m.meters().facility_w * dt;
    e.it += m.meters().it_w * dt;
    e.cooling += m.meters().cooling_w * dt;
    for (const Crah& c : m.crahs()) e.coil_minus_fans += (c.coil_w - c.fan_w) * dt;
    for (const Rack& r : m.racks()) {
      for (double t_in : r.inlet_c) {
        e.min_inlet = std::min(e.min_inlet, t_in);
        e.max_inlet = std::max(e.max_inlet, t_in);
      }
    }
  }
  return e;
}

Model Make(const char* preset, const char* start, uint64_t seed = 1) {
  return Model(*LoadFacility(preset), seed, At(start));
}

TEST(Model, HeatRemovedEqualsItHeat) {
  Model m = Make("small", "2025-04-01T00:00:00Z");
  const Energy e = Simulate(m, 12);
  EXPECT_NEAR(e.coil_minus_fans / e.it, 1.0, 0.02);
}

TEST(Model, SmallPresetInsideAshraeWithMidRangePue) {
  for (const char* day : {"2025-01-15T00:00:00Z", "2025-07-20T00:00:00Z"}) {
    Model m = Make("small", day);
    const Energy e = Simulate(m, 24);
    EXPECT_GE(e.min_inlet, 18.0) << day;
    EXPECT_LE(e.max_inlet, 27.0) << day;
    EXPECT_GE(e.pue(), 1.3) << day;
    EXPECT_LE(e.pue(), 1.7) << day;
  }
}

TEST(Model, LegacyAndHyperscaleEnvelopes) {
  for (const char* day : {"2025-01-15T00:00:00Z", "2025-07-20T00:00:00Z"}) {
    Model legacy = Make("legacy", day);
    const Energy l = Simulate(legacy, 24);
    EXPECT_GE(l.pue(), 1.75) << day;
    EXPECT_LE(l.pue(), 2.05) << day;
    EXPECT_GE(l.cooling_share(), 0.30) << day;
    EXPECT_LE(l.cooling_share(), 0.45) << day;
    Model hyper = Make("hyperscale", day);
    const Energy h = Simulate(hyper, 24);
    EXPECT_GE(h.pue(), 1.1) << day;
    EXPECT_LE(h.pue(), 1.2) << day;
    EXPECT_LT(h.cooling_share(), 0.12) << day;
  }
}

// DOMAIN.md's envelope in normal operation, held by every shipped preset on a summer afternoon
// (peak load, the warmest and most humid weather) and a winter night (the driest air), after the
// model's warm-up plus two settled hours. One test per preset and season, so ctest runs them side
// by side.
struct Season {
  const char* name;
  const char* start;
};
class PresetEnvelope : public ::testing::TestWithParam<std::tuple<std::string_view, Season>> {};

TEST_P(PresetEnvelope, HoldsInNormalOperation) {
  const auto [preset, season] = GetParam();
  Model m(*LoadFacility(preset), 1, At(season.start));
  const Energy e = Simulate(m, 2, 60);
  double min_rise = 1e9, max_rise = -1e9, min_rh = 1e9, max_rh = -1e9;
  for (const Rack& r : m.racks()) {
    const double rise = r.exhaust_c - r.inlet_c[1];
    min_rise = std::min(min_rise, rise);
    max_rise = std::max(max_rise, rise);
    min_rh = std::min(min_rh, r.inlet_rh_percent);
    max_rh = std::max(max_rh, r.inlet_rh_percent);
  }
  double min_crah = 1e9, max_crah = -1e9;
  for (const Crah& c : m.crahs()) {
    min_crah = std::min(min_crah, c.return_c - c.supply_c);
    max_crah = std::max(max_crah, c.return_c - c.supply_c);
  }
  fmt::print(
      "{} {}: inlets {:.1f}-{:.1f} C, rack delta-T {:.1f}-{:.1f} K, RH {:.0f}-{:.0f} %, "
      "CRAH delta-T {:.1f}-{:.1f} K, PUE {:.2f}, cooling {:.0f} % of energy\n",
      preset, season.name, e.min_inlet, e.max_inlet, min_rise, max_rise, min_rh, max_rh, min_crah,
      max_crah, e.pue(), 100 * e.cooling_share());
  EXPECT_GE(e.min_inlet, 18.0) << "recommended low end";
  EXPECT_LE(e.max_inlet, 27.0) << "recommended high end";
  EXPECT_GE(min_rise, 8.0);
  EXPECT_LE(max_rise, 20.0);
  // legacy's constant-speed fans move twice what its racks draw: bypass air, a low 4–5 K, as in
  // old rooms.
  EXPECT_GE(min_crah, 4.0) << "return over supply";
  EXPECT_LE(max_crah, 20.0);
  EXPECT_GE(min_rh, 8.0);
  EXPECT_LE(max_rh, 70.0);
  for (size_t room = 0; room < m.facility().rooms.size(); ++room) {
    EXPECT_GE(m.room_dew_point_c(static_cast<int>(room)), -12.0);
    EXPECT_LE(m.room_dew_point_c(static_cast<int>(room)), 15.0);
  }
  EXPECT_GE(e.pue(), 1.05);
  EXPECT_LE(e.pue(), 2.5);
}

INSTANTIATE_TEST_SUITE_P(
    EveryPreset, PresetEnvelope,
    ::testing::Combine(::testing::ValuesIn(FacilityPresetNames()),
                       ::testing::Values(Season{"summer", "2025-07-20T12:00:00Z"},
                                         Season{"winter", "2025-01-15T02:00:00Z"})),
    [](const auto& info) {
      return fmt::format("{}_{}", std::get<0>(info.param), std::get<1>(info.param).name);
    });

// Every CRAH unit serves a zone of the same number of racks (±1), with more units than a row has
// racks (large) or fewer (small).
TEST(Model, ZonesAreBalanced) {
  for (std::string_view preset : FacilityPresetNames()) {
    SCOPED_TRACE(preset);
    FacilityConfig one = *LoadFacility(preset);  // the first room: the others are alike
    one.rooms.resize(1);
    Model m(one, 1, At("2025-07-20T12:00:00Z"));
    std::vector<int> racks(m.crahs().size());
    for (const Rack& r : m.racks()) ++racks[r.zone];
    const auto [fewest, most] = std::minmax_element(racks.begin(), racks.end());
    EXPECT_GE(*fewest, 1);
    EXPECT_LE(*most - *fewest, 1);
  }
}

double ZoneInlet(const Model& m, int zone) {
  double sum = 0;
  int n = 0;
  for (const Rack& r : m.racks()) {
    if (r.zone == zone) sum += r.inlet_c[1], ++n;
  }
  return sum / n;
}

TEST(Model, CrahTripHeatsItsZoneNotTheFarOneAndRecovers) {
  Model m = Make("small", "2025-07-20T12:00:00Z");
  const int tripped = 1;                                   // the middle unit of room 1
  const int far = static_cast<int>(m.crahs().size()) - 1;  // the last unit of room 2
  const double before = ZoneInlet(m, tripped);
  const double far_before = ZoneInlet(m, far);
  m.SetCrahRunning(tripped, false);
  Simulate(m, 5.0 / 60, 5);
  const double rate =
      (ZoneInlet(m, tripped) - before) / 5;  // °C per minute over the first 5 minutes
  EXPECT_GE(rate, 0.5);
  EXPECT_LE(rate, 3.0);
  EXPECT_NEAR(ZoneInlet(m, far), far_before, 0.2);
  Simulate(m, 10.0 / 60, 5);
  m.SetCrahRunning(tripped, true);
  Simulate(m, 20.0 / 60, 5);
  EXPECT_NEAR(ZoneInlet(m, tripped), before, 1.0) << "recovers after restart";
}

TEST(Model, EconomizerLowersPueOnAColdDay) {
  auto pue_at = [](double dry_bulb_c) {
    Model m = Make("hyperscale", "2025-04-01T00:00:00Z");
    m.SetOutdoorOverride(dry_bulb_c, 60);
    return Simulate(m, 6).pue();
  };
  const double cold = pue_at(0);
  const double hot = pue_at(30);
  EXPECT_LT(cold, hot - 0.03);
}

TEST(Model, RecordedWeatherIsInterpolated) {
  FacilityConfig f = *LoadFacility("small");
  f.climate.weather = {{At("2025-07-20T00:00:00Z"), 30, 40}, {At("2025-07-20T02:00:00Z"), 20, 80}};
  Model m(f, 1, At("2025-07-20T01:00:00Z"));
  EXPECT_NEAR(m.weather().dry_bulb_c, 25, 1e-9);
  EXPECT_NEAR(m.weather().rh_percent, 60, 1e-9);
  Simulate(m, 3);
  EXPECT_EQ(m.weather().dry_bulb_c, 20) << "held after the last row";
}

TEST(Model, HumidityIsPhysicallyConsistent) {
  Model m = Make("small", "2025-07-20T12:00:00Z");
  Simulate(m, 1);
  for (const Rack& r : m.racks()) {
    // Same moisture everywhere in a room: the dew point read back from each sensor is the room's.
    EXPECT_NEAR(DewPoint(r.inlet_c[1], r.inlet_rh_percent), m.room_dew_point_c(r.room), 1e-6);
    // Hotter air reads lower RH.
    EXPECT_LT(RelativeHumidityPercent(r.exhaust_c, m.room_dew_point_c(r.room)), r.inlet_rh_percent);
  }
}

TEST(Model, ChillerTripWarmsTheLoopAndRestartPullsItBack) {
  Model m = Make("small", "2025-07-20T12:00:00Z");
  const double chw = m.plant().chw_supply_c;
  m.SetChillerRunning(false);
  Simulate(m, 0.25, 5);
  EXPECT_GT(m.plant().chw_supply_c, chw + 3);
  EXPECT_EQ(m.plant().compressor_w, 0);
  m.SetChillerRunning(true);
  Simulate(m, 1, 5);
  EXPECT_NEAR(m.plant().chw_supply_c, chw, 0.5);
}

TEST(Model, UtilityOutageStopsMechanicalCoolingAndTheUtilityMeter) {
  Model m = Make("small", "2025-07-20T12:00:00Z");
  m.SetUtilityOutage(true);
  Simulate(m, 2.0 / 60, 5);
  EXPECT_EQ(m.meters().facility_w, 0);
  EXPECT_GT(m.meters().it_w, 0) << "IT rides on the UPS";
  for (const Crah& c : m.crahs()) EXPECT_EQ(c.fan_w, 0);
}

TEST(Model, SameSeedSameState) {
  Model a = Make("small", "2025-07-20T12:00:00Z", 7);
  Model b = Make("small", "2025-07-20T12:00:00Z", 7);
  Model c = Make("small", "2025-07-20T12:00:00Z", 8);
  Simulate(a, 1);
  Simulate(b, 1);
  Simulate(c, 1);
  for (size_t i = 0; i < a.racks().size(); ++i) {
    ASSERT_EQ(a.racks()[i].power_w, b.racks()[i].power_w);
    ASSERT_EQ(a.racks()[i].inlet_c[2], b.racks()[i].inlet_c[2]);
  }
  EXPECT_NE(a.racks()[0].power_w, c.racks()[0].power_w);
}

}  // namespace
}  // namespace dcmon::sim
