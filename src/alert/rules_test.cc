#include "alert/rules.h"

#include <gtest/gtest.h>

namespace dcmon::alert {
namespace {

TEST(Rules, ShippedDefaultsParse) {
  Result<std::vector<Rule>> rules = LoadRules(DCMON_SOURCE_DIR "/config/alerts.toml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  EXPECT_GE(rules->size(), 8u);
  for (const Rule& r : *rules) {
    EXPECT_FALSE(r.runbook.empty()) << r.name;
    EXPECT_FALSE(r.severity.empty()) << r.name;
  }
}

TEST(Rules, ThresholdFieldsAndHysteresis) {
  auto rules = ParseRules(R"(
[[rule]]
name = "Hot"
source = "sensor"
level = 27
clear = 26
for_s = 300
keep_firing_for_s = 60
severity = "warning"
runbook = "cool it"
labels = { team = "facilities" }
)",
                          "t.toml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  const Rule& r = rules->front();
  EXPECT_EQ(r.kind, RuleKind::kThreshold);
  EXPECT_EQ(r.for_micros, 300'000'000);
  EXPECT_EQ(r.keep_firing_for_micros, 60'000'000);
  EXPECT_DOUBLE_EQ(r.clear, 26);
  EXPECT_EQ(r.labels.at("team"), "facilities");
}

TEST(Rules, ErrorsNameTheField) {
  auto expect_error = [](std::string_view toml, std::string_view needle) {
    auto rules = ParseRules(toml, "t.toml");
    ASSERT_FALSE(rules.ok()) << toml;
    EXPECT_NE(rules.status().message().find(needle), std::string::npos) << rules.status().message();
  };
  expect_error("[[rule]]\nname='a'\nseverity='x'\nrunbook='y'\nlevl=3\n",
               "rule[0].levl: unknown field");
  expect_error("[[rule]]\nname='a'\nseverity='x'\nrunbook='y'\nfor_s='5m'\n",
               "for_s: expected whole seconds");
  expect_error("[[rule]]\nname='a'\nseverity='x'\nlevel=27\nclear=28\nrunbook='y'\n",
               "clear: must be at or below level");
  expect_error("[[rule]]\nname='a'\nseverity='x'\n", "runbook: must not be empty");
  expect_error("[[rule]]\nname='a'\nkind='rate'\nseverity='x'\nrunbook='y'\n",
               "delta: must be above 0");
  expect_error("[[rule]]\nname='a'\nkind='slow'\nseverity='x'\nrunbook='y'\n",
               "kind: expected threshold");
  const std::string anomaly = "[[rule]]\nname='a'\nkind='anomaly'\nseverity='x'\nrunbook='y'\n";
  expect_error(anomaly + "level=0.9\n", "keep_firing_for_s: must be above 0");
  expect_error(anomaly + "level=2\nkeep_firing_for_s=60\n", "level: an anomaly score");
  expect_error(anomaly + "level=0.9\nkeep_firing_for_s=60\nfor_s=60\n", "for_s: an anomaly");
  expect_error(anomaly + "level=0.9\nkeep_firing_for_s=60\ndetector='drfit'\n",
               "detector: no detector is named \"drfit\"");
  expect_error("[[rule]]\nname='a'\nseverity='x'\nrunbook='y'\ndetector='drift'\n",
               "detector: only anomaly rules");
  expect_error(
      "[[rule]]\nname='a'\nseverity='x'\nrunbook='y'\n[[rule]]\nname='a'\nseverity='x'\nrunbook='y'"
      "\n",
      "\"a\" is used twice");
}

TEST(Rules, KpiRulesNameTheirKpi) {
  auto rules = ParseRules(
      "[[rule]]\nname='Pue'\nkind='kpi'\nkpi='pue_hour'\nlevel=1.6\nclear=1.5\nfor_s=3600\n"
      "severity='warning'\nrunbook='y'\n",
      "t.toml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  EXPECT_EQ(rules->front().kind, RuleKind::kKpi);
  EXPECT_EQ(rules->front().select.kpi, "pue_hour");
  EXPECT_EQ(RuleKindName(RuleKind::kKpi), "kpi");
  auto missing = ParseRules("[[rule]]\nname='a'\nkind='kpi'\nseverity='x'\nrunbook='y'\n", "t");
  EXPECT_NE(missing.status().message().find("kpi: must name a KPI"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace dcmon::alert
