#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace dcmon {
namespace {

TEST(Exposition, GroupsFamiliesAndEscapes) {
  Exposition e;
  e.Counter("dcmon_records_total", "Records \\ stored\nby table", {{"table", "sensor_readings"}}, 42);
  e.Gauge("dcmon_lag", "Lag", {{"topic", "a\"b\\c\nd"}}, 1.5);
  e.Counter("dcmon_records_total", "Records \\ stored\nby table", {{"table", "cooling"}}, 7);
  e.Gauge("dcmon_pue", "PUE", {}, std::nan(""));
  e.Gauge("dcmon_big", "Big", {}, 1e20);
  EXPECT_EQ(e.Finish(),
            "# HELP dcmon_records_total Records \\\\ stored\\nby table\n"
            "# TYPE dcmon_records_total counter\n"
            "dcmon_records_total{table=\"sensor_readings\"} 42\n"
            "dcmon_records_total{table=\"cooling\"} 7\n"
            "# HELP dcmon_lag Lag\n"
            "# TYPE dcmon_lag gauge\n"
            "dcmon_lag{topic=\"a\\\"b\\\\c\\nd\"} 1.5\n"
            "# HELP dcmon_pue PUE\n"
            "# TYPE dcmon_pue gauge\n"
            "dcmon_pue NaN\n"
            "# HELP dcmon_big Big\n"
            "# TYPE dcmon_big gauge\n"
            "dcmon_big 1e+20\n");
}

TEST(Histogram, CumulativeBucketsSumAndCount) {
  Histogram h({0.1, 1, 0.01});  // unsorted on purpose
  for (double v : {0.005, 0.01, 0.5, 3.0}) h.Observe(v);
  Exposition e;
  e.Histogram("dcmon_commit_seconds", "Commit time", {{"store", "x"}}, h);
  EXPECT_EQ(e.Finish(),
            "# HELP dcmon_commit_seconds Commit time\n"
            "# TYPE dcmon_commit_seconds histogram\n"
            "dcmon_commit_seconds_bucket{store=\"x\",le=\"0.01\"} 2\n"
            "dcmon_commit_seconds_bucket{store=\"x\",le=\"0.1\"} 2\n"
            "dcmon_commit_seconds_bucket{store=\"x\",le=\"1\"} 3\n"
            "dcmon_commit_seconds_bucket{store=\"x\",le=\"+Inf\"} 4\n"
            "dcmon_commit_seconds_sum{store=\"x\"} 3.515\n"
            "dcmon_commit_seconds_count{store=\"x\"} 4\n");
}

TEST(Histogram, ConcurrentObservationsAllCount) {
  Histogram h({1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.Observe(0.5);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.Counts()[0], 40000u);
  EXPECT_DOUBLE_EQ(h.sum(), 20000);
}

// The real Prometheus linter on a realistic exposition.
TEST(Exposition, PromtoolAcceptsIt) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  Histogram h({0.001, 0.01, 0.1});
  h.Observe(0.002);
  Exposition e;
  e.Counter("dcmon_http_requests_total", "HTTP requests", {{"route", "/api/v1/summary"}, {"status", "200"}}, 3);
  e.Gauge("dcmon_kafka_consumer_lag", "Lag", {{"topic", "dc.sensors"}, {"partition", "0"}}, 12);
  e.Histogram("dcmon_loader_commit_seconds", "Commit time", {}, h);
  const std::string path = testing::TempDir() + "/metrics.txt";
  std::ofstream(path) << e.Finish();
  const std::string cmd = "promtool check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << output;
  EXPECT_EQ(output, "");  // no lint warnings either
}

}  // namespace
}  // namespace dcmon
