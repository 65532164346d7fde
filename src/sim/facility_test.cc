#include "sim/facility.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  for (const auto& room : small.rooms) {
    // N+1: the room's IT fits on one unit fewer than it has.
    EXPECT_GE((room.crah_units - 1) * room.crah_capacity_kw,
              room.rows * room.racks_per_row * room.rack_rated_kw);
  }
  EXPECT_GE(LoadFacility("large")->RackCount(), 10000);
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
  EXPECT_THAT(ParseError("[[rooms]\nid = 1"), HasSubstr("test.toml:1:"));
}

TEST(Facility, UnknownPresetListsTheKnownOnes) {
  Result<FacilityConfig> f = LoadFacility("medium");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("no preset named \"medium\""));
  EXPECT_THAT(f.status().message(), HasSubstr("small"));
}

}  // namespace
}  // namespace dcmon::sim
