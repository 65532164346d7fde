#include "analytics/kpi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>

#include "core/time.h"
#include "store/writer.h"

namespace dcmon::analytics {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kS = 1'000'000;
constexpr int64_t kMin = 60 * kS;

int64_t At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

// A fresh in-memory store written through the real writer (rollups, devices and all).
class KpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(
        *store::Database::Open({.path = ":memory:", .memory_limit = "256MB", .threads = 1}));
    writer_ = std::move(*store::Writer::Create(*db_));
  }
  void Write(std::vector<Record> records) {
    store::WriteBatch b;
    b.records = std::move(records);
    ASSERT_TRUE(writer_->Commit(b, At("2026-12-01T12:00:00Z")).ok());
  }
  static SensorReading Sensor(std::string id, std::string measurement, double value, int64_t t,
                              std::string rack = "", std::string position = "") {
    SensorReading s{.device_id = std::move(id),
                    .location = "Room 1",
                    .measurement_type = std::move(measurement),
                    .value = value,
                    .timestamp_micros = t};
    s.placement.room = "room-1";
    s.placement.rack = std::move(rack);
    s.position = std::move(position);
    return s;
  }
  static CoolingMetric Cooling(std::string id, double efficiency, double watts, int64_t t) {
    CoolingMetric c{.system_id = std::move(id),
                    .efficiency_percent = efficiency,
                    .power_consumption_watts = watts,
                    .timestamp_micros = t};
    return c;
  }
  // Meter samples every 15 s over [t0, t0 + minutes), `watts(i)` for the i-th sample.
  template <typename F>
  void Meter(const std::string& id, int64_t t0, int minutes, F watts) {
    std::vector<Record> rs;
    for (int i = 0; i < minutes * 4; ++i)
      rs.push_back(Sensor(id, "power", watts(i), t0 + i * 15 * kS));
    Write(std::move(rs));
  }
  Kpis Compute(int64_t from, int64_t to, KpiOptions o = {}) {
    auto conn = db_->Connect();
    Result<Kpis> k = ComputeKpis(**conn, o, from, to);
    EXPECT_TRUE(k.ok()) << k.status().message();
    return k.ok() ? *k : Kpis{};
  }

  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Writer> writer_;
};

TEST_F(KpiTest, PueIsFromEnergyNotOneSample) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  // Minute 1: facility 140/160 kW alternating (150 kW mean), IT 100 kW. Minute 2: facility
  // 160 kW, IT 50 kW. PUE = (150 + 160) / (100 + 50) = 2.0667; the mean of the per-minute ratios
  // is 2.35 and the last sample's 3.2.
  Meter("meter_facility", t0, 2, [](int i) { return i < 4 ? (i % 2 ? 160e3 : 140e3) : 160e3; });
  Meter("meter_it", t0, 2, [](int i) { return i < 4 ? 100e3 : 50e3; });
  Kpis k = Compute(t0, t0 + 2 * kMin);
  EXPECT_NEAR(k.pue, 310.0 / 150, 1e-9);
  EXPECT_NEAR(k.dcie, 150.0 / 310, 1e-9);
  EXPECT_NEAR(k.facility_kwh, 310.0 / 60, 1e-9);
  EXPECT_NEAR(k.it_kwh, 150.0 / 60, 1e-9);
  EXPECT_NEAR(k.it_kw, 75, 1e-9);
  EXPECT_NEAR(k.facility_kw, 155, 1e-9);
  ASSERT_EQ(k.hours.size(), 1u);
  EXPECT_NEAR(k.hours[0].pue, 310.0 / 150, 1e-9);
  // Half of the first minute: 30 s of 150 kW and 100 kW, then the second minute.
  Kpis half = Compute(t0 + 30 * kS, t0 + 2 * kMin);
  EXPECT_NEAR(half.pue, (150.0 * 30 + 160 * 60) / (100.0 * 30 + 50 * 60), 1e-9);
  // No IT energy: PUE is unknown, not infinite.
  EXPECT_TRUE(std::isnan(Compute(t0 + 10 * kMin, t0 + 20 * kMin).pue));
}

TEST_F(KpiTest, PueOnlyOverMinutesBothMetersCover) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  // Facility 150, 150, 300 kW over three minutes; the IT meter (100 kW) lost the second minute. The
  // facility energy of a minute without IT energy is no part of the ratio: (150 + 300) / 200, not
  // 600 / 200. (A loader that has stored one meter further than the other looks the same.)
  Meter("meter_facility", t0, 3, [](int i) { return i < 8 ? 150e3 : 300e3; });
  Meter("meter_it", t0, 1, [](int) { return 100e3; });
  Meter("meter_it", t0 + 2 * kMin, 1, [](int) { return 100e3; });
  Kpis k = Compute(t0, t0 + 3 * kMin);
  EXPECT_NEAR(k.pue, 450.0 / 200, 1e-9);
  EXPECT_NEAR(k.hours[0].pue, 450.0 / 200, 1e-9);
  EXPECT_NEAR(k.facility_kwh, 600.0 / 60, 1e-9);  // energy is still all of it
  EXPECT_NEAR(k.it_kwh, 200.0 / 60, 1e-9);
}

TEST_F(KpiTest, TimeOfUseCostAcrossMidnight) {
  // 60 kW for 65 minutes from 22:58: 1 kWh a minute. Day rate 0.25 from 07:00, night rate 0.12
  // from 23:00 until 07:00 the next day: 2 minutes at 0.25, 63 at 0.12 (three of them after
  // midnight, where the night period of the previous day still holds).
  const int64_t t0 = At("2026-11-30T22:58:00Z");
  Meter("meter_facility", t0, 65, [](int) { return 60e3; });
  Meter("meter_it", t0, 65, [](int) { return 40e3; });
  KpiOptions o;
  o.tariff = *ParseTariff("07:00=0.25,23:00=0.12", "analytics.tariff");
  o.tariff.currency = "CHF";
  Kpis k = Compute(t0, t0 + 65 * kMin, o);
  EXPECT_NEAR(k.facility_kwh, 65, 1e-9);
  EXPECT_NEAR(k.cost, 2 * 0.25 + 63 * 0.12, 1e-9);
  EXPECT_EQ(k.currency, "CHF");
  EXPECT_NEAR(Compute(t0, t0 + 65 * kMin, {.tariff = *ParseTariff("0.2", "t")}).cost, 13, 1e-9);
  EXPECT_TRUE(std::isnan(Compute(t0, t0 + 65 * kMin).cost));  // no tariff configured
}

TEST(Tariff, ParsesAndRefusesWithTheKey) {
  Tariff t = *ParseTariff("23:00=0.1,07:30=0.3", "analytics.tariff");
  EXPECT_EQ(t.PriceAt(At("2026-12-01T07:29:59Z")), 0.1);
  EXPECT_EQ(t.PriceAt(At("2026-12-01T07:30:00Z")), 0.3);
  EXPECT_EQ(t.PriceAt(At("2026-12-01T23:00:00Z")), 0.1);
  EXPECT_THAT(ParseTariff("7:00=0.2", "analytics.tariff").status().message(),
              HasSubstr("analytics.tariff: expected HH:MM=price"));
  EXPECT_THAT(ParseTariff("07:00=cheap", "analytics.tariff").status().message(),
              HasSubstr("expected a price per kWh"));
  EXPECT_THAT(ParseTariff("07:00=1,07:00=2", "analytics.tariff").status().message(),
              HasSubstr("twice"));
  Config c;
  c.SetFlag("analytics.tariff", "-1");
  EXPECT_THAT(KpiOptionsFrom(c).status().message(), HasSubstr("analytics.tariff"));
}

TEST_F(KpiTest, InletComplianceAndRci) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  // Rack a01: 20, 29, 16 in the first hour, 33 in the second. Rack a02: 22 four times.
  Write({Sensor("a01-inlet", "temperature", 20, t0, "a01", "inlet_middle"),
         Sensor("a01-inlet", "temperature", 29, t0 + 10 * kMin, "a01", "inlet_middle"),
         Sensor("a01-inlet", "temperature", 16, t0 + 20 * kMin, "a01", "inlet_middle"),
         Sensor("a01-inlet", "temperature", 33, t0 + 70 * kMin, "a01", "inlet_middle"),
         Sensor("a01-exhaust", "temperature", 45, t0, "a01", "exhaust"),
         Sensor("a02-inlet", "temperature", 22, t0, "a02", "inlet_top"),
         Sensor("a02-inlet", "temperature", 22, t0 + 10 * kMin, "a02", "inlet_top"),
         Sensor("a02-inlet", "temperature", 22, t0 + 20 * kMin, "a02", "inlet_top"),
         Sensor("a02-inlet", "temperature", 22, t0 + 70 * kMin, "a02", "inlet_top")});
  Kpis k = Compute(t0, t0 + 2 * 60 * kMin);
  // A1: recommended 18–27, allowable 15–32. Over 27: 2 + 6; under 18: 2; n = 8.
  EXPECT_NEAR(k.rci_hi, (1 - 8.0 / (8 * 5)) * 100, 1e-9);
  EXPECT_NEAR(k.rci_lo, (1 - 2.0 / (8 * 3)) * 100, 1e-9);
  ASSERT_EQ(k.racks.size(), 2u);
  EXPECT_EQ(k.racks[0].rack, "a01");
  EXPECT_EQ(k.racks[0].samples, 4);
  EXPECT_NEAR(k.racks[0].recommended_share, 0.25, 1e-9);
  EXPECT_NEAR(k.racks[0].allowable_share, 0.75, 1e-9);
  EXPECT_NEAR(k.racks[0].mean, 24.5, 1e-9);
  EXPECT_EQ(k.racks[0].max, 33);
  EXPECT_EQ(k.racks[0].worst_hour_micros, t0 + 60 * kMin);
  EXPECT_EQ(k.racks[0].worst_hour_recommended_share, 0);
  EXPECT_NEAR(k.racks[1].recommended_share, 1, 1e-9);
  ASSERT_EQ(k.rooms.size(), 1u);
  EXPECT_EQ(k.rooms[0].room, "room-1");
  EXPECT_NEAR(k.rooms[0].mean, 186.0 / 8, 1e-9);
  EXPECT_NEAR(k.rooms[0].recommended_share, 5.0 / 8, 1e-9);
  EXPECT_NEAR(k.rooms[0].allowable_share, 7.0 / 8, 1e-9);
  EXPECT_EQ(k.rooms[0].min, 16);
  // H1 (recommended 18–22, allowable 5–25): 22 is recommended, 29 and 33 are beyond allowable.
  KpiOptions h1;
  h1.facility.ashrae_class = "H1";
  Kpis h = Compute(t0, t0 + 2 * 60 * kMin, h1);
  EXPECT_NEAR(h.racks[0].allowable_share, 0.5, 1e-9);
  EXPECT_NEAR(h.rci_hi, (1 - (7.0 + 11) / (8 * 3)) * 100, 1e-9);
}

TEST_F(KpiTest, RtiCoolingShareKwPerTonAndCapacityFactor) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  std::vector<Record> rs;
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + i * 30 * kS;
    // Two running air handlers, 2.5 kW of fans each, 18 °C supply, 28 °C return; one stopped.
    for (const char* id : {"room-1-crah-1", "room-1-crah-2"}) {
      CoolingMetric c = Cooling(id, 97, 2500, t);
      c.placement.room = "room-1";
      c.supply_air_temp_celsius = 18;
      c.return_air_temp_celsius = 28;
      c.fan_speed_percent = 60;
      rs.push_back(c);
    }
    CoolingMetric stopped = Cooling("room-1-crah-3", 0, 0, t);
    stopped.placement.room = "room-1";
    stopped.fan_speed_percent = 0;
    rs.push_back(stopped);
    // The plant: 20 kW at 80 % efficiency moves 80 kW of heat (Q = P·e/(100 − e)).
    rs.push_back(Cooling("chiller-plant", 80, 20e3, t));
    // Rack ΔT 12.5 K.
    rs.push_back(Sensor("a01-inlet", "temperature", 20, t, "a01", "inlet_middle"));
    rs.push_back(Sensor("a01-exhaust", "temperature", 32.5, t, "a01", "exhaust"));
  }
  Write(std::move(rs));
  Meter("meter_facility", t0, 2, [](int) { return 150e3; });
  Meter("meter_it", t0, 2, [](int) { return 100e3; });
  KpiOptions o;
  o.crah_capacity_kw = 100;
  Kpis k = Compute(t0, t0 + 2 * kMin, o);
  EXPECT_NEAR(k.cooling_kw, 25, 1e-9);
  EXPECT_NEAR(k.cooling_share, 25.0 / 150, 1e-9);
  EXPECT_NEAR(k.kw_per_ton, 25 / (80 / 3.517), 1e-9);
  EXPECT_NEAR(k.cooling_capacity_factor, 2 * 100 / (1.1 * 100), 1e-9);
  ASSERT_EQ(k.rti.size(), 2u);  // the stopped unit reports no air temperatures
  EXPECT_EQ(k.rti[0].unit, "room-1-crah-1");
  EXPECT_NEAR(k.rti[0].rack_delta_t, 12.5, 1e-9);
  EXPECT_NEAR(k.rti[0].rti, 10 / 12.5 * 100, 1e-9);
  EXPECT_TRUE(std::isnan(Compute(t0, t0 + 2 * kMin).cooling_capacity_factor));  // no capacity
  // Two more minutes of cooling without the facility meter: the share stays that of the powers.
  std::vector<Record> more;
  for (int i = 4; i < 8; ++i) more.push_back(Cooling("chiller-plant", 80, 20e3, t0 + i * 30 * kS));
  Write(std::move(more));
  EXPECT_NEAR(Compute(t0, t0 + 4 * kMin, o).cooling_share, 25.0 / 150, 1e-9);
}

// Two air handlers in one room: crah-1 serves a01 and a02 (ΔT 12 and 10 K: its zone's 11 K),
// crah-2 serves a03 (8 K). crah-1 lifts its air 11 K (RTI 100 %), crah-2 10 K (125 %: its zone
// recirculates). Judged against the room's 10 K instead, as without the zones, both are off.
TEST_F(KpiTest, RtiPerCrahZone) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  std::vector<Record> rs;
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + i * 30 * kS;
    for (auto [id, ret] : {std::pair{"room-1-crah-1", 29.0}, std::pair{"room-1-crah-2", 28.0}}) {
      CoolingMetric c = Cooling(id, 97, 2500, t);
      c.placement.room = "room-1";
      c.supply_air_temp_celsius = 18;
      c.return_air_temp_celsius = ret;
      c.fan_speed_percent = 60;
      rs.push_back(c);
    }
    for (auto [rack, inlet, exhaust] :
         {std::tuple{"a01", 20.0, 32.0}, std::tuple{"a02", 21.0, 31.0},
          std::tuple{"a03", 22.0, 30.0}}) {
      rs.push_back(
          Sensor(std::string(rack) + "-inlet", "temperature", inlet, t, rack, "inlet_top"));
      rs.push_back(
          Sensor(std::string(rack) + "-exhaust", "temperature", exhaust, t, rack, "exhaust"));
    }
  }
  Write(std::move(rs));
  KpiOptions o;
  // a04 reports nothing: it does not count among the zone's racks.
  o.topology.zones = {{.crah = "room-1-crah-1", .room = "room-1", .racks = {"a01", "a02", "a04"}},
                      {.crah = "room-1-crah-2", .room = "room-1", .racks = {"a03"}}};
  const Kpis k = Compute(t0, t0 + 2 * kMin, o);
  ASSERT_EQ(k.rti.size(), 2u);
  EXPECT_EQ(k.rti[0].unit, "room-1-crah-1");
  EXPECT_TRUE(k.rti[0].zone);
  EXPECT_EQ(k.rti[0].racks, 2);
  EXPECT_NEAR(k.rti[0].rack_delta_t, 11, 1e-9);
  EXPECT_NEAR(k.rti[0].rti, 100, 1e-9);
  EXPECT_EQ(k.rti[1].unit, "room-1-crah-2");
  EXPECT_EQ(k.rti[1].racks, 1);
  EXPECT_NEAR(k.rti[1].rack_delta_t, 8, 1e-9);
  EXPECT_NEAR(k.rti[1].rti, 125, 1e-9);
  EXPECT_THAT(KpisToJson(k),
              HasSubstr(R"({"zone_unit":"room-1-crah-2","room":"room-1","basis":"zone","racks":1,)"
                        R"("supply_c":18,"return_c":28,"rack_delta_t":8,"rti":125})"));

  const Kpis by_room = Compute(t0, t0 + 2 * kMin);
  ASSERT_EQ(by_room.rti.size(), 2u);
  EXPECT_FALSE(by_room.rti[0].zone);
  EXPECT_EQ(by_room.rti[0].racks, 3);
  EXPECT_NEAR(by_room.rti[0].rack_delta_t, 10, 1e-9);
  EXPECT_NEAR(by_room.rti[0].rti, 110, 1e-9);
  EXPECT_NEAR(by_room.rti[1].rti, 100, 1e-9);
}

// Racks are named alike in two rooms: a zone counts its own room's rack, not the other's.
TEST_F(KpiTest, RtiZoneRacksAreOfTheZonesRoom) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  std::vector<Record> rs;
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + i * 30 * kS;
    CoolingMetric c = Cooling("room-1-crah-1", 97, 2500, t);
    c.placement.room = "room-1";
    c.supply_air_temp_celsius = 18;
    c.return_air_temp_celsius = 28;
    rs.push_back(c);
    for (auto [room, inlet, exhaust] :
         {std::tuple{"room-1", 20.0, 30.0}, std::tuple{"room-2", 20.0, 40.0}}) {
      SensorReading in =
          Sensor(std::string(room) + "-a01-inlet", "temperature", inlet, t, "a01", "inlet_top");
      SensorReading out =
          Sensor(std::string(room) + "-a01-exhaust", "temperature", exhaust, t, "a01", "exhaust");
      in.placement.room = out.placement.room = room;
      rs.push_back(in);
      rs.push_back(out);
    }
  }
  Write(std::move(rs));
  KpiOptions o;
  o.topology.zones = {{.crah = "room-1-crah-1", .room = "room-1", .racks = {"a01"}}};
  const Kpis k = Compute(t0, t0 + 2 * kMin, o);
  ASSERT_EQ(k.rti.size(), 1u);
  EXPECT_EQ(k.rti[0].racks, 1);
  EXPECT_NEAR(k.rti[0].rack_delta_t, 10, 1e-9);  // room-2's a01 (ΔT 20 K) is not in the zone
  EXPECT_NEAR(k.rti[0].rti, 100, 1e-9);
}

TEST_F(KpiTest, RateOfChangeOverFifteenMinutes) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  std::vector<Record> rs;
  // a01 warms 0.5 °C a minute for 20 minutes: 15 minutes hold 7.5 °C from minute 11 on (first
  // window above 5 °C ends at minute 11: 5.5 °C). a02 warms 0.3 °C a minute: 4.5 °C at most.
  for (int m = 0; m <= 20; ++m) {
    rs.push_back(
        Sensor("a01-inlet", "temperature", 20 + 0.5 * m, t0 + m * kMin, "a01", "inlet_top"));
    rs.push_back(
        Sensor("a02-inlet", "temperature", 20 + 0.3 * m, t0 + m * kMin, "a02", "inlet_top"));
  }
  Write(std::move(rs));
  Kpis k = Compute(t0, t0 + 30 * kMin);
  ASSERT_EQ(k.rate_violations.size(), 1u);
  EXPECT_EQ(k.rate_violations[0].device_id, "a01-inlet");
  EXPECT_EQ(k.rate_violations[0].first_micros, t0 + 11 * kMin);
  EXPECT_NEAR(k.rate_violations[0].max_change_c, 7.5, 1e-9);
  EXPECT_EQ(k.rate_violations[0].samples, 10);  // windows ending at minutes 11 … 20
}

TEST_F(KpiTest, CompletenessFromEachDevicesCadence) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  std::vector<Record> rs;
  // "steady": every 30 s for the hour before and the 10 minutes of the interval, 5 of its 20
  // samples in the interval lost. "late": every 60 s, first seen at 10:05: owes 5, sends 5.
  // "silent": every 60 s before 10:00, nothing after: owes 10, sends 0.
  for (int i = -120; i < 20; ++i) {
    if (i >= 5 && i < 10) continue;
    rs.push_back(Sensor("steady", "temperature", 21, t0 + i * 30 * kS));
  }
  for (int i = 5; i < 10; ++i) rs.push_back(Sensor("late", "humidity", 40, t0 + i * kMin));
  for (int i = -30; i < 0; ++i) rs.push_back(Cooling("silent", 90, 1000, t0 + i * kMin));
  Write(std::move(rs));
  Kpis k = Compute(t0, t0 + 10 * kMin);
  ASSERT_EQ(k.completeness.size(), 3u);
  EXPECT_EQ(k.completeness[0].device_id, "silent");
  EXPECT_EQ(k.completeness[0].expected, 10);
  EXPECT_EQ(k.completeness[0].received, 0);
  EXPECT_EQ(k.completeness[1].device_id, "steady");
  EXPECT_EQ(k.completeness[1].cadence_micros, 30 * kS);
  EXPECT_EQ(k.completeness[1].expected, 20);
  EXPECT_EQ(k.completeness[1].received, 15);
  EXPECT_NEAR(k.completeness[1].ratio, 0.75, 1e-9);
  EXPECT_EQ(k.completeness[2].device_id, "late");
  EXPECT_EQ(k.completeness[2].expected, 5);
  EXPECT_NEAR(k.completeness[2].ratio, 1, 1e-9);
}

TEST_F(KpiTest, JsonNamesEveryKpi) {
  const int64_t t0 = At("2026-12-01T10:00:00Z");
  Meter("meter_facility", t0, 1, [](int) { return 150e3; });
  Meter("meter_it", t0, 1, [](int) { return 100e3; });
  const std::string json = KpisToJson(Compute(t0, t0 + kMin));
  EXPECT_THAT(json, HasSubstr(R"("from":"2026-12-01T10:00:00Z","to":"2026-12-01T10:01:00Z")"));
  EXPECT_THAT(json, HasSubstr(R"("pue":1.5,"dcie":0.667,"it_kw":100,)"));
  EXPECT_THAT(json, HasSubstr(R"("energy_kwh":{"it":1.667,"cooling":0,"facility":2.5})"));
  EXPECT_THAT(json, HasSubstr(R"("cost":{"currency":"EUR","total":null})"));
  EXPECT_THAT(json, HasSubstr(R"("rci_hi":null)"));
}

// Every ```sql block of docs/analytics.md runs against a small facility and returns rows.
TEST_F(KpiTest, DocsQueriesRun) {
  const int64_t t0 = At("2026-11-20T10:00:00Z");
  std::vector<Record> rs;
  for (int m = 0; m < 20; ++m) {
    const int64_t t = t0 + m * kMin;
    rs.push_back(Sensor("a01-inlet", "temperature", 20 + 0.5 * m, t, "a01", "inlet_top"));
    rs.push_back(Sensor("a01-exhaust", "temperature", 32 + 0.5 * m, t, "a01", "exhaust"));
    CoolingMetric crah = Cooling("room-1-crah-1", 97, 2500, t);
    crah.placement.room = "room-1";
    crah.supply_air_temp_celsius = 18;
    crah.return_air_temp_celsius = 29;
    crah.fan_speed_percent = 60;
    rs.push_back(crah);
    rs.push_back(Cooling("chiller-plant", 80, 20e3, t));
  }
  Write(std::move(rs));
  Meter("meter_facility", t0, 20, [](int) { return 150e3; });
  Meter("meter_it", t0, 20, [](int) { return 100e3; });

  std::ifstream in(DCMON_SOURCE_DIR "/docs/analytics.md");
  ASSERT_TRUE(in) << "docs/analytics.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  auto conn = db_->Connect();
  int blocks = 0;
  for (size_t at = doc.find("```sql\n"); at != std::string::npos; at = doc.find("```sql\n", at)) {
    at += 7;
    const size_t end = doc.find("```", at);
    ASSERT_NE(end, std::string::npos);
    const std::string sql = doc.substr(at, end - at);
    Result<store::QueryResult> r = (*conn)->Query(sql);
    ASSERT_TRUE(r.ok()) << sql << "\n" << r.status().message();
    EXPECT_GT(r->rows(), 0u) << sql;
    ++blocks;
    at = end + 3;
  }
  EXPECT_GE(blocks, 8);
}

TEST_F(KpiTest, RefusesAnEmptyInterval) {
  auto conn = db_->Connect();
  EXPECT_THAT(ComputeKpis(**conn, {}, 10, 10).status().message(), HasSubstr("from"));
}

}  // namespace
}  // namespace dcmon::analytics
