#include "sim/physics.h"

#include <gtest/gtest.h>

namespace dcmon::sim {
namespace {

TEST(Physics, ServerAirflowRule) {
  // DOMAIN.md: about 154 CFM per kW at an 11 K rise.
  const double cfm_154 = 154 * 0.000471947;
  EXPECT_NEAR(AirTemperatureRise(1000, cfm_154), 11.0, 0.6);
  EXPECT_NEAR(AirTemperatureRise(10'000, AirflowFor(10'000, 12.5)), 12.5, 1e-12);
}

TEST(Physics, InletMixesSupplyAndExhaust) {
  EXPECT_DOUBLE_EQ(InletTemperature(18, 38, 0.0), 18);
  EXPECT_DOUBLE_EQ(InletTemperature(18, 38, 0.03), 18.6);  // contained aisle
  EXPECT_DOUBLE_EQ(InletTemperature(18, 38, 0.3), 24);     // missing blanking panels at the top
}

TEST(Physics, MagnusHumidity) {
  EXPECT_NEAR(RelativeHumidityPercent(10, 10), 100, 1e-9);
  EXPECT_NEAR(RelativeHumidityPercent(24, 10), 41.2, 0.1);
  // Hotter air with the same moisture reads lower RH.
  EXPECT_LT(RelativeHumidityPercent(35, 10), RelativeHumidityPercent(24, 10));
  // Dew point is what is conserved: DewPoint inverts RH exactly.
  for (double t : {15.0, 22.0, 30.0, 40.0}) {
    EXPECT_NEAR(DewPoint(t, RelativeHumidityPercent(t, 9.5)), 9.5, 1e-9) << t;
  }
  EXPECT_DOUBLE_EQ(RelativeHumidityPercent(5, 10), 100) << "supersaturated air is capped";
}

TEST(Physics, StullWetBulb) {
  EXPECT_NEAR(WetBulb(20, 50), 13.7, 0.1);  // the worked example in Stull (2011)
  EXPECT_LT(WetBulb(30, 40), 30);
  EXPECT_NEAR(WetBulb(25, 99), 25, 0.4);
}

TEST(Physics, FanAffinityLaw) {
  EXPECT_DOUBLE_EQ(FanPower(1000, 1.0), 1000);
  EXPECT_DOUBLE_EQ(FanPower(1000, 0.8), 512);  // 20 % slower saves ≈ half
  EXPECT_DOUBLE_EQ(FanPower(1000, 1.5), 1000) << "speed is clamped to the rating";
}

TEST(Physics, ChillerCopFromTemperatures) {
  EXPECT_NEAR(ChillerCop(5, 29), 0.55 * 278.15 / 24, 1e-12);
  EXPECT_GT(ChillerCop(5, 25), ChillerCop(5, 35)) << "a cooler condenser is more efficient";
  EXPECT_NEAR(3.517 / ChillerCop(5, 29), 0.55, 0.01) << "kW/ton of a good plant";
}

TEST(Physics, EconomizerFraction) {
  EXPECT_DOUBLE_EQ(EconomizerFraction(12, 2, 3, 5), 1);
  EXPECT_DOUBLE_EQ(EconomizerFraction(12, 6, 3, 5), 0.6);
  EXPECT_DOUBLE_EQ(EconomizerFraction(12, 15, 3, 5), 0);
}

TEST(Physics, RoomHeatsAtTheDocumentedRateWithoutCooling) {
  // 100 kW of IT, effective air-side capacity 45 kJ/K per kW: the first minute heats ≈ 1.3 K.
  RoomThermal room{.air_c = 22,
                   .mass_c = 22,
                   .air_capacity = 45e3 * 100,
                   .mass_capacity = 400e3 * 100,
                   .coupling = 2000};
  room.Step(100'000, 0, 60);
  EXPECT_NEAR(room.air_c - 22, 100'000 * 60 / (45e3 * 100), 0.05);
  EXPECT_GE(room.air_c - 22, 0.5);
  EXPECT_LE(room.air_c - 22, 3.0);
}

TEST(Physics, RoomConservesEnergyBetweenNodes) {
  RoomThermal room{
      .air_c = 30, .mass_c = 20, .air_capacity = 1e6, .mass_capacity = 4e6, .coupling = 5e4};
  const double energy = room.air_c * room.air_capacity + room.mass_c * room.mass_capacity;
  for (int i = 0; i < 3600; ++i) room.Step(50'000, 50'000, 1);  // balanced: heat in = heat removed
  EXPECT_NEAR(room.air_c * room.air_capacity + room.mass_c * room.mass_capacity, energy,
              energy * 1e-9);
  EXPECT_NEAR(room.air_c, 22, 0.01) << "both nodes settle at the capacity-weighted mean";
  EXPECT_NEAR(room.mass_c, 22, 0.01);
}

TEST(Physics, LargeStepIsStable) {
  RoomThermal a{
      .air_c = 30, .mass_c = 20, .air_capacity = 1e5, .mass_capacity = 1e6, .coupling = 1e5};
  RoomThermal b = a;
  a.Step(0, 0, 600);
  for (int i = 0; i < 6000; ++i) b.Step(0, 0, 0.1);
  EXPECT_NEAR(a.air_c, b.air_c, 0.01);
  EXPECT_NEAR(a.mass_c, b.mass_c, 0.01);
}

TEST(Physics, PiControllerSaturatesWithoutWindup) {
  PiController pi{.kp = 0.1, .ki = 0.01, .min = 0.2, .max = 1.0};
  for (int i = 0; i < 1000; ++i) EXPECT_LE(pi.Update(10, 1), 1.0);
  EXPECT_DOUBLE_EQ(pi.Update(10, 1), 1.0);
  // Without anti-windup the integral would hold 10,000 K·s and keep the output pinned for hours.
  EXPECT_LT(pi.Update(-2, 1), 1.0);
  for (int i = 0; i < 1000; ++i) pi.Update(-10, 1);
  EXPECT_DOUBLE_EQ(pi.Update(-10, 1), 0.2);
}

}  // namespace
}  // namespace dcmon::sim
