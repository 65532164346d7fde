#include "sim/facility.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "sim/physics.h"

namespace dcmon::sim {
namespace {

using ::testing::HasSubstr;

TEST(Facility, PresetsLoadAndValidate) {
  EXPECT_THAT(FacilityPresetNames(),
              ::testing::IsSupersetOf({"small", "legacy", "hyperscale", "large"}));
  for (std::string_view name : FacilityPresetNames()) {
    Result<FacilityConfig> f = LoadFacility(name);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->name, name);
  }
}

TEST(Facility, PresetSizes) {
  const FacilityConfig small = *LoadFacility("small");
  EXPECT_EQ(small.rooms.size(), 2u);
  EXPECT_EQ(small.RackCount(), 40);
  EXPECT_GE(LoadFacility("large")->RackCount(), 10000);
}

// Provisioned as an operator would: N+1, the rated IT of each room fits, in heat and in airflow, on
// one unit fewer than it has.
TEST(Facility, EveryPresetIsNPlusOne) {
  for (std::string_view name : FacilityPresetNames()) {
    const FacilityConfig facility = *LoadFacility(name);
    for (const RoomConfig& room : facility.rooms) {
      SCOPED_TRACE(fmt::format("{} {}", name, room.id));
      const double rated_kw = room.rows * room.racks_per_row * room.rack_rated_kw;
      EXPECT_GE((room.crah_units - 1) * room.crah_capacity_kw, rated_kw);
      EXPECT_GE((room.crah_units - 1) * room.crah_airflow_m3s,
                AirflowFor(rated_kw * 1000, room.server_delta_t_k));
    }
  }
}

TEST(Facility, LoadsAFileByPath) {
  Result<FacilityConfig> f =
      LoadFacility(std::string(DCMON_SOURCE_DIR) + "/config/facility/legacy.toml");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->rooms[0].containment);
}

std::string ParseError(std::string_view toml) {
  Result<FacilityConfig> f = ParseFacility(toml, "test.toml");
  EXPECT_FALSE(f.ok());
  return f.ok() ? "" : f.status().message();
}

TEST(Facility, ErrorsNameTheField) {
  EXPECT_THAT(ParseError("name = \"x\""), HasSubstr("test.toml: rooms: at least one"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\nrack_rated_kw = \"hot\""),
              HasSubstr("test.toml: rooms[0].rack_rated_kw: expected a number, got string"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\nrack_rated_kw = -1"),
              HasSubstr("rooms[0].rack_rated_kw: -1 is out of range"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\nrackz = 1"),
              HasSubstr("rooms[0].rackz: unknown field"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\n[[rooms]]\nid = \"a\""),
              HasSubstr("rooms[1].id: duplicate"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\n[plant]\neconomiser = true"),
              HasSubstr("plant.economiser: unknown field"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\ncrah_units = 1.5"),
              HasSubstr("rooms[0].crah_units: expected an integer, got number"));
  EXPECT_THAT(ParseError("[[rooms]]\nid = \"a\"\nrows = 1\nracks_per_row = 4\ncrah_units = 5"),
              HasSubstr("rooms[0].crah_units: 5 is more than the room's 4 racks"));
  EXPECT_THAT(ParseError("[[rooms]\nid = 1"), HasSubstr("test.toml:1:"));
}

std::string WriteFile(const std::string& name, std::string_view text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Facility, WeatherCsvRelativeToTheFacilityFile) {
  WriteFile(
      "weather.csv",
      "timestamp,dry_bulb_c,rh_percent\n2025-07-01T00:00:00Z,30,40\n2025-07-01T01:00:00Z,20,80\n");
  const std::string toml =
      WriteFile("site.toml", "[climate]\nweather_csv = \"weather.csv\"\n[[rooms]]\nid = \"a\"\n");
  Result<FacilityConfig> f = LoadFacility(toml);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->climate.weather.size(), 2u);
  EXPECT_EQ(f->climate.weather[1].rh_percent, 80);
}

TEST(Facility, WeatherCsvErrorsNameLineAndColumn) {
  auto error = [](std::string_view csv) {
    Result<std::vector<WeatherPoint>> w = LoadWeatherCsv(WriteFile("bad.csv", csv));
    EXPECT_FALSE(w.ok());
    return w.ok() ? std::string() : w.status().message();
  };
  const std::string head = "timestamp,dry_bulb_c,rh_percent\n2025-07-01T00:00:00Z,30,40\n";
  EXPECT_THAT(error("time,temp\n"), HasSubstr("bad.csv:1: the header must be"));
  EXPECT_THAT(error(head + "2025-07-01T01:00:00Z,hot,40\n"),
              HasSubstr("bad.csv:3: dry_bulb_c: not a number"));
  EXPECT_THAT(error(head + "2025-07-01T01:00:00Z,20,140\n"),
              HasSubstr("bad.csv:3: rh_percent: 140 is out of range"));
  EXPECT_THAT(error(head + "2025-07-01T00:00:00Z,20,40\n"),
              HasSubstr("bad.csv:3: timestamps must increase"));
  EXPECT_THAT(error(head + "yesterday,20,40\n"),
              HasSubstr("bad.csv:3: timestamp: not an RFC 3339"));
  EXPECT_THAT(error(head), HasSubstr("needs at least two rows"));
}

TEST(Facility, FaultsScheduledInTheFile) {
  Result<FacilityConfig> f = ParseFacility(
      "faults = [\"crah-trip@2h+30m\", \"malformed@0m*0.01\"]\n[[rooms]]\nid = \"a\"\n", "t.toml");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_THAT(f->faults, ::testing::ElementsAre("crah-trip@2h+30m", "malformed@0m*0.01"));
  EXPECT_THAT(ParseError("faults = [1]\n[[rooms]]\nid = \"a\"\n"),
              HasSubstr("faults[0]: expected a string SPEC"));
}

TEST(Facility, UnknownPresetListsTheKnownOnes) {
  Result<FacilityConfig> f = LoadFacility("medium");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("no preset named \"medium\""));
  EXPECT_THAT(f.status().message(), HasSubstr("small"));
}

}  // namespace
}  // namespace dcmon::sim
