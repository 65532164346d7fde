#include "analytics/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.h"

namespace dcmon::analytics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int64_t At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

TEST(Report, IncidentsWithDurationsFromAlertEvents) {
  auto db = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
  auto conn = std::move(*db->Connect());
  const int64_t from = At("2026-12-01T00:00:00Z"), to = At("2026-12-02T00:00:00Z");
  Result<std::optional<std::vector<Incident>>> none = ReadIncidents(*conn, from, to);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());  // no alert_events table: no history, not "no incident"

  // The history as task alerts stores it (docs/alerting.md): a CRAH incident of 65 minutes, an
  // inlet alert it inhibited, an alert still firing, one resolved before the period.
  Status created = conn->Execute(R"sql(
CREATE TABLE alert_events (event_seq BIGINT NOT NULL, alert_id VARCHAR NOT NULL, rule VARCHAR NOT NULL,
  device VARCHAR NOT NULL, state VARCHAR NOT NULL, "at" TIMESTAMPTZ NOT NULL, severity VARCHAR NOT NULL,
  category VARCHAR NOT NULL, value DOUBLE NOT NULL, inhibited_by VARCHAR, affected_racks_json VARCHAR NOT NULL,
  labels_json VARCHAR NOT NULL, summary VARCHAR, recorded_at TIMESTAMPTZ NOT NULL);
INSERT INTO alert_events (event_seq, alert_id, rule, device, state, "at", severity, category, value,
  inhibited_by, affected_racks_json, labels_json, summary, recorded_at) VALUES
 (1, 'Old/x', 'Old', 'x', 'firing', '2026-11-30 10:00:00+00', 'info', 'facility', 1, NULL, '[]', '{}', '', now()),
 (2, 'Old/x', 'Old', 'x', 'resolved', '2026-11-30 11:00:00+00', 'info', 'facility', 1, NULL, '[]', '{}', '', now()),
 (3, 'CrahUnitDown/room-1-crah-2', 'CrahUnitDown', 'room-1-crah-2', 'pending', '2026-12-01 16:09:00+00',
  'critical', 'facility', 0, NULL, '[]', '{}', '', now()),
 (4, 'CrahUnitDown/room-1-crah-2', 'CrahUnitDown', 'room-1-crah-2', 'firing', '2026-12-01 16:10:00+00',
  'critical', 'facility', 0, NULL, '["room-1-a04"]', '{}', '', now()),
 (5, 'InletHot/room-1-a04-inlet-top', 'InletHot', 'room-1-a04-inlet-top', 'firing', '2026-12-01 16:12:00+00',
  'warning', 'facility', 29, 'room-1-crah-2', '[]', '{}', '', now()),
 (6, 'CrahUnitDown/room-1-crah-2', 'CrahUnitDown', 'room-1-crah-2', 'resolved', '2026-12-01 17:15:00+00',
  'critical', 'facility', 80, NULL, '[]', '{}', '', now()),
 (7, 'Stale/<probe>', 'DeviceSilent', '<probe>', 'firing', '2026-12-01 23:00:00+00', 'warning', 'sensor', 400,
  NULL, '[]', '{}', '', now());
)sql");
  ASSERT_TRUE(created.ok()) << created.message();
  Result<std::optional<std::vector<Incident>>> got = ReadIncidents(*conn, from, to);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  const std::vector<Incident>& incidents = **got;
  ASSERT_EQ(incidents.size(), 2u);
  EXPECT_EQ(incidents[0].rule, "CrahUnitDown");
  EXPECT_EQ(incidents[0].starts_micros, At("2026-12-01T16:10:00Z"));
  EXPECT_EQ(incidents[0].ends_micros, At("2026-12-01T17:15:00Z"));
  EXPECT_EQ(incidents[1].device, "<probe>");
  EXPECT_EQ(incidents[1].ends_micros, 0);

  Kpis k;
  k.from_micros = from;
  k.to_micros = to;
  k.ashrae_class = "A1";
  const std::string html = RenderReport(k, *got);
  EXPECT_THAT(html, HasSubstr("<td>CrahUnitDown</td><td>room-1-crah-2</td><td>critical</td>"
                              "<td>2026-12-01T16:10:00Z</td><td>2026-12-01T17:15:00Z</td>"
                              "<td>1 h 05 min</td>"));
  EXPECT_THAT(html, HasSubstr("<td>&lt;probe&gt;</td>"));  // escaped
  EXPECT_THAT(html, HasSubstr("<td>still firing</td><td>≥ 1 h 00 min</td>"));
  EXPECT_THAT(html, Not(HasSubstr("<probe>")));
  EXPECT_THAT(RenderReport(k, std::nullopt), HasSubstr("No alert history in this store."));
  EXPECT_THAT(RenderReport(k, std::vector<Incident>{}), HasSubstr("No incident in the period."));
}

TEST(Report, RtiPerZoneWithItsRacks) {
  Kpis k;
  k.ashrae_class = "A1";
  k.rti = {{.unit = "room-1-crah-1",
            .room = "room-1",
            .zone = true,
            .racks = 7,
            .supply_c = 18,
            .return_c = 28,
            .rack_delta_t = 8,
            .rti = 125},
           {.unit = "room-2-crah-1",
            .room = "room-2",
            .zone = false,
            .racks = 20,
            .supply_c = 18,
            .return_c = 28,
            .rack_delta_t = 10,
            .rti = 100}};
  const std::string html = RenderReport(k, std::nullopt);
  EXPECT_THAT(html, HasSubstr("<td>room-1-crah-1</td><td>room-1</td><td>7</td><td>18.00</td>"
                              "<td>28.00</td><td>8.00</td><td>125.0 %</td>"));
  EXPECT_THAT(html, HasSubstr("<td>room-2-crah-1</td><td>room-2</td><td>20 (room)</td>"));
}

}  // namespace
}  // namespace dcmon::analytics
