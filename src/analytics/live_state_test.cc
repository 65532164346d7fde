#include "analytics/live_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace dcmon::analytics {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'700'000'000'000'000;
constexpr int64_t kSecond = 1'000'000;

SensorReading Sensor(std::string id, std::string measurement, double value, int64_t t,
                     std::string position = "") {
  SensorReading s{.device_id = std::move(id),
                  .location = "Room 1",
                  .measurement_type = std::move(measurement),
                  .value = value,
                  .timestamp_micros = t};
  s.position = std::move(position);
  s.placement.room = "room-1";
  return s;
}

std::map<std::string, double> GaugeMap(const LiveState& s) {
  std::map<std::string, double> m;
  for (const auto& [k, v] : s.Gauges()) m[k] = v;
  return m;
}

TEST(LiveState, PueFromMetersAndEnergyOverTheHour) {
  LiveState state({});
  std::vector<Record> batch;
  // An hour of 15 s samples: IT steady at 100 kW, facility 150 kW for the first half, 130 kW after.
  for (int64_t i = 0; i < 240; ++i) {
    const int64_t t = kT0 + i * 15 * kSecond;
    batch.push_back(Sensor("meter_it", "power", 100'000, t));
    batch.push_back(Sensor("meter_facility", "power", i < 120 ? 150'000 : 130'000, t));
  }
  state.Apply(batch);
  state.Publish(kT0 + 3600 * kSecond);
  auto g = GaugeMap(state);
  EXPECT_DOUBLE_EQ(g["pue"], 1.3);        // the latest samples
  EXPECT_NEAR(g["pue_hour"], 1.4, 1e-9);  // energy over the hour, not one sample
  EXPECT_DOUBLE_EQ(g["it_watts"], 100'000);
  EXPECT_THAT(*state.Summary(), HasSubstr(R"("pue":{"now":1.3,"hour":1.4,)"));
  // The same numbers for the alert engine's kpi rules, as of the newest meter sample.
  const LiveState::FacilityKpis k = state.Kpis();
  EXPECT_EQ(k.event_micros, kT0 + 239 * 15 * kSecond);
  EXPECT_DOUBLE_EQ(k.pue, 1.3);
  EXPECT_NEAR(k.pue_hour, 1.4, 1e-9);
  EXPECT_TRUE(std::isnan(k.cooling_share));  // no cooling unit reported
  EXPECT_EQ(k.Named().size(), 4u);
  EXPECT_EQ(k.Named()[1].first, "pue_hour");
}

TEST(LiveState, InletsAgainstTheAshraeEnvelopeAndTheHottestFirst) {
  LiveState state({.hottest = 2});
  const int64_t t = kT0;
  state.Apply({Sensor("r1-inlet-bottom", "temperature", 22, t, "inlet_bottom"),
               Sensor("r1-inlet-top", "temperature", 29, t, "inlet_top"),    // allowable only
               Sensor("r2-inlet-top", "temperature", 33.5, t, "inlet_top"),  // outside A1
               Sensor("r2-exhaust", "temperature", 45, t, "exhaust"),        // not an inlet
               Sensor("temp_rack-a1", "temperature", 23.5, t)});             // the seed sensor
  state.Publish(t + kSecond);
  const std::string& json = *state.Summary();
  EXPECT_THAT(
      json,
      HasSubstr(R"("sensors":4,"in_recommended":2,"allowable_only":1,"outside_allowable":1)"));
  // RCI_HI = (1 - (2 + 6.5) / (4 * 5)) * 100 = 57.5
  EXPECT_THAT(json, HasSubstr(R"("rci_hi":57.5)"));
  EXPECT_THAT(json, HasSubstr(R"("hottest_inlets":[{"device_id":"r2-inlet-top")"));
  EXPECT_THAT(json, Not(HasSubstr("r1-inlet-bottom\",\"room")));  // only the 2 hottest listed
}

TEST(LiveState, StaleSensorsAndCoolingShare) {
  LiveState state({.stale_after_micros = 60 * kSecond});
  CoolingMetric crah{.system_id = "crah-1",
                     .efficiency_percent = 98,
                     .power_consumption_watts = 3000,
                     .timestamp_micros = kT0};
  state.Apply({Sensor("old-inlet", "temperature", 22, kT0 - 120 * kSecond, "inlet_top"),
               Sensor("meter_facility", "power", 12'000, kT0),
               Sensor("meter_it", "power", 10'000, kT0), crah});
  state.Publish(kT0 + kSecond);
  auto g = GaugeMap(state);
  EXPECT_EQ(g["stale_devices"], 1);
  EXPECT_DOUBLE_EQ(g["cooling_watts"], 3000);
  EXPECT_THAT(*state.Summary(), HasSubstr(R"("cooling_share":0.25)"));
  EXPECT_THAT(*state.Summary(), HasSubstr(R"("devices":["old-inlet"])"));
  // A late sample does not move the latest value back.
  state.Apply({Sensor("meter_it", "power", 1, kT0 - kSecond)});
  state.Publish(kT0 + kSecond);
  EXPECT_DOUBLE_EQ(GaugeMap(state)["it_watts"], 10'000);
}

TEST(LiveState, NothingYetIsNullNotZero) {
  LiveState state({});
  state.Publish(kT0);
  EXPECT_THAT(*state.Summary(), HasSubstr(R"("pue":{"now":null,"hour":null,"day":null})"));
  EXPECT_TRUE(std::isnan(GaugeMap(state)["pue"]));
}

TEST(LiveState, LatestPerDeviceWithPlacementByRoom) {
  LiveState state({});
  SensorReading inlet = Sensor("room-1-a01-inlet-top", "temperature", 24, kT0, "inlet_top");
  inlet.placement.row = "a";
  inlet.placement.rack = "room-1-a01";
  SensorReading other = Sensor("room-2-a01-inlet-top", "temperature", 30, kT0, "inlet_top");
  other.placement.room = "room-2";
  CoolingMetric crah{.system_id = "room-1-crah-1",
                     .efficiency_percent = 97.5,
                     .power_consumption_watts = 2500,
                     .timestamp_micros = kT0};
  crah.placement.room = "room-1";
  crah.fan_speed_percent = 0;  // a stopped fan: no air temperatures
  state.Apply({inlet, other, crah});
  // A newer value replaces the old; a late one does not.
  inlet.value = 25.5;
  inlet.timestamp_micros = kT0 + 30 * kSecond;
  SensorReading late = other;
  late.value = 1;
  late.timestamp_micros = kT0 - kSecond;
  state.Apply({inlet, late});

  const std::string room1 = state.Latest("room-1", kT0 + 60 * kSecond);
  EXPECT_THAT(room1, HasSubstr(R"("room":"room-1","data":[{"device_id":"room-1-a01-inlet-top",)"
                               R"("measurement_type":"temperature","room":"room-1","row":"a",)"
                               R"("rack":"room-1-a01","position":"inlet_top","value":25.5,)"));
  EXPECT_THAT(room1, Not(HasSubstr("room-2")));
  EXPECT_THAT(room1, HasSubstr(R"("units":[{"unit":"room-1-crah-1","room":"room-1",)"
                               R"("power_consumption_watts":2500,"efficiency_percent":97.5,)"
                               R"("fan_speed_percent":0,"supply_air_temp_celsius":null,)"));
  const std::string all = state.Latest("", kT0);
  EXPECT_THAT(all, HasSubstr(R"("room":null,)"));
  EXPECT_THAT(all,
              HasSubstr(R"("device_id":"room-2-a01-inlet-top","measurement_type":)"
                        R"("temperature","room":"room-2","position":"inlet_top","value":30,)"));
}

TEST(LiveState, SummaryCarriesTheEnvelopeOfItsClass) {
  LiveState state({.ashrae_class = "H1"});
  state.Publish(kT0);
  EXPECT_THAT(*state.Summary(),
              HasSubstr(R"("envelope":{"recommended_low":18,"recommended_high":22,)"
                        R"("allowable_low":5,"allowable_high":25})"));
}

}  // namespace
}  // namespace dcmon::analytics
