#include "core/time.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace dcmon {
namespace {

using ::testing::HasSubstr;

int64_t Parse(std::string_view s) {
  Result<int64_t> r = ParseRfc3339(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().message();
  return r.ok() ? *r : -1;
}

std::string Error(std::string_view s) {
  Result<int64_t> r = ParseRfc3339(s);
  EXPECT_FALSE(r.ok()) << s << " parsed as " << (r.ok() ? *r : 0);
  return r.ok() ? "" : r.status().message();
}

TEST(Rfc3339, SeedTimestamp) { EXPECT_EQ(Parse("2025-08-21T16:48:00Z"), 1755794880LL * 1000000); }

TEST(Rfc3339, OffsetsNormaliseToUtc) {
  const int64_t utc = Parse("2025-08-21T16:48:00Z");
  EXPECT_EQ(Parse("2025-08-21T18:48:00+02:00"), utc);
  EXPECT_EQ(Parse("2025-08-21T11:18:00-05:30"), utc);
  EXPECT_EQ(Parse("2025-08-21t16:48:00z"), utc);
  EXPECT_EQ(Parse("2025-08-22T00:48:00+08:00"), utc);  // crosses midnight
}

TEST(Rfc3339, FractionsUpToNanosecondsTruncateToMicros) {
  const int64_t base = Parse("2025-08-21T16:48:00Z");
  EXPECT_EQ(Parse("2025-08-21T16:48:00.5Z"), base + 500000);
  EXPECT_EQ(Parse("2025-08-21T16:48:00.123Z"), base + 123000);
  EXPECT_EQ(Parse("2025-08-21T16:48:00.123456Z"), base + 123456);
  EXPECT_EQ(Parse("2025-08-21T16:48:00.123456789Z"), base + 123456);
}

TEST(Rfc3339, LeapDays) {
  EXPECT_EQ(Parse("2024-02-29T00:00:00Z") + 86400LL * 1000000, Parse("2024-03-01T00:00:00Z"));
  EXPECT_EQ(Parse("2000-02-29T00:00:00Z") + 86400LL * 1000000, Parse("2000-03-01T00:00:00Z"));
  EXPECT_THAT(Error("2023-02-29T00:00:00Z"), HasSubstr("day out of range"));
  EXPECT_THAT(Error("2100-02-29T00:00:00Z"), HasSubstr("day out of range"));
}

TEST(Rfc3339, RangeLimits) {
  EXPECT_EQ(Parse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Parse("2199-12-31T23:59:59.999999Z"), kMaxTimestampMicros - 1);
  EXPECT_THAT(Error("1969-12-31T23:59:59Z"), HasSubstr("out of range"));
  EXPECT_THAT(Error("2200-01-01T00:00:00Z"), HasSubstr("out of range"));
  EXPECT_THAT(Error("1970-01-01T00:30:00+01:00"), HasSubstr("out of range"));
}

TEST(Rfc3339, RejectsMalformed) {
  EXPECT_THAT(Error(""), HasSubstr("date"));
  EXPECT_THAT(Error("2025-08-21"), HasSubstr("'T'"));
  EXPECT_THAT(Error("2025-08-21 16:48:00Z"), HasSubstr("'T'"));
  EXPECT_THAT(Error("2025-08-21T16:48Z"), HasSubstr("HH:MM:SS"));
  EXPECT_THAT(Error("2025-08-21T16:48:00"), HasSubstr("missing time zone"));
  EXPECT_THAT(Error("2025-13-01T00:00:00Z"), HasSubstr("month"));
  EXPECT_THAT(Error("2025-04-31T00:00:00Z"), HasSubstr("day out of range"));
  EXPECT_THAT(Error("2025-08-21T24:00:00Z"), HasSubstr("hour"));
  EXPECT_THAT(Error("2025-08-21T16:60:00Z"), HasSubstr("minute"));
  EXPECT_THAT(Error("2025-08-21T16:48:60Z"), HasSubstr("leap second"));
  EXPECT_THAT(Error("2025-08-21T16:48:00.Z"), HasSubstr("digits after '.'"));
  EXPECT_THAT(Error("2025-08-21T16:48:00.1234567890Z"), HasSubstr("9 digits"));
  EXPECT_THAT(Error("2025-08-21T16:48:00+0200"), HasSubstr("±HH:MM"));
  EXPECT_THAT(Error("2025-08-21T16:48:00+24:00"), HasSubstr("offset out of range"));
  EXPECT_THAT(Error("2025-08-21T16:48:00Zjunk"), HasSubstr("after the time zone"));
  EXPECT_THAT(Error("+2025-08-21T16:48:00Z"), HasSubstr("date"));
}

TEST(Rfc3339, FormatsUtcWithMinimalFraction) {
  EXPECT_EQ(FormatRfc3339(1755794880LL * 1000000), "2025-08-21T16:48:00Z");
  EXPECT_EQ(FormatRfc3339(1755794880LL * 1000000 + 500000), "2025-08-21T16:48:00.500Z");
  EXPECT_EQ(FormatRfc3339(1755794880LL * 1000000 + 123456), "2025-08-21T16:48:00.123456Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kMaxTimestampMicros - 1), "2199-12-31T23:59:59.999999Z");
}

TEST(Rfc3339, RoundTripsEveryMicrosecondInRange) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> dist(kMinTimestampMicros, kMaxTimestampMicros - 1);
  for (int i = 0; i < 100000; ++i) {
    const int64_t t = dist(rng);
    ASSERT_EQ(Parse(FormatRfc3339(t)), t) << FormatRfc3339(t);
  }
}

TEST(Duration, NumbersWithUnits) {
  EXPECT_EQ(*ParseDuration("0"), std::chrono::microseconds(0));
  EXPECT_EQ(*ParseDuration("0s"), std::chrono::microseconds(0));
  EXPECT_EQ(*ParseDuration("250us"), std::chrono::microseconds(250));
  EXPECT_EQ(*ParseDuration("1500ms"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*ParseDuration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseDuration("10m"), std::chrono::minutes(10));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::hours(2));
}

TEST(Duration, ErrorsSayWhatIsExpected) {
  for (std::string_view bad : {"", "10", "m", "-5s", "1.5s", "10 m", "10min", "5d"}) {
    Result<std::chrono::microseconds> r = ParseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("expected a duration")) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr(fmt::format("\"{}\"", bad)));
  }
  EXPECT_THAT(ParseDuration("99999999999999999h").status().message(), HasSubstr("too long"));
}

}  // namespace
}  // namespace dcmon
