// Event-to-queryable latency of the loader (issue #5): a producer thread sends sensor readings at a
// fixed rate, each stamped with the wall clock as its event time just before it is produced; the
// loader (ingest::Loader, what `dcmon load` runs) commits them to a DuckDB file, and at the moment
// each commit returns (the rows are then visible to every new query) every record of the batch
// counts now - event_time. Prints the percentiles over the measured seconds, after a warm-up that
// covers the group join.
//
//   build/bench/latency_benchmark BOOTSTRAP [records/s] [seconds] [store] [KEY=VALUE...]
//     (default 10,000 records/s, 60 s, /tmp/dcmon-latency-bench.duckdb; librdkafka properties
//     for the producer and the loader's consumer)
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/kafka_config.h"
#include "bus/producer.h"
#include "core/record_json.h"
#include "core/time.h"
#include "ingest/loader.h"
#include "store/duckdb.h"

int main(int argc, char** argv) {
  using namespace dcmon;
  if (argc < 2) return std::fprintf(stderr, "usage: latency_benchmark BOOTSTRAP [rate] [s]\n"), 2;
  bus::KafkaConfig kafka{.bootstrap = argv[1]};
  const int rate = argc > 2 ? std::stoi(argv[2]) : 10000;
  const int seconds = argc > 3 ? std::stoi(argv[3]) : 60;
  const std::string path = argc > 4 ? argv[4] : "/tmp/dcmon-latency-bench.duckdb";
  for (int i = 5; i < argc; ++i) {  // librdkafka properties, as dcmon load --kafka-property takes
    const std::string kv = argv[i];
    kafka.properties[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  }
  constexpr int kWarmupSeconds = 10;
  constexpr int kDevices = 1000;

  std::filesystem::remove(path);
  std::filesystem::remove(path + ".wal");
  auto db = store::Database::Open({.path = path, .memory_limit = "1GB", .threads = 2});
  if (!db.ok()) return std::fprintf(stderr, "%s\n", db.status().message().c_str()), 1;

  std::atomic<bool> stop{false};
  std::atomic<int64_t> measure_from{INT64_MAX};
  std::mutex mu;
  std::vector<int64_t> latencies;  // micros, guarded by mu
  ingest::LoaderOptions options{.group = "latency-bench-" + std::to_string(NowMicros())};
  options.on_commit = [&](const store::WriteBatch& batch, const store::CommitStats&) {
    const int64_t now = NowMicros();
    std::lock_guard lock(mu);
    for (const Record& r : batch.records) {
      const auto* reading = std::get_if<SensorReading>(&r);
      if (reading && reading->location == "bench" && reading->timestamp_micros >= measure_from)
        latencies.push_back(now - reading->timestamp_micros);
    }
  };
  auto loader = ingest::Loader::Create(kafka, **db, options);
  if (!loader.ok()) return std::fprintf(stderr, "%s\n", loader.status().message().c_str()), 1;
  std::thread loading([&] {
    while (!stop) {
      if (Status s = (*loader)->RunOnce(); !s.ok())
        std::fprintf(stderr, "%s\n", s.message().c_str());
    }
  });

  auto producer = bus::Producer::Create(kafka);
  if (!producer.ok()) return std::fprintf(stderr, "%s\n", producer.status().message().c_str()), 1;
  std::vector<std::string> ids;
  for (int d = 0; d < kDevices; ++d) ids.push_back("lat-" + std::to_string(d));
  // Every 10 ms the records due by then, so the rate holds whatever the sleep's accuracy.
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(kWarmupSeconds + seconds);
  int64_t sent = 0;
  std::string json;
  for (auto tick = start; tick < end; tick += std::chrono::milliseconds(10)) {
    std::this_thread::sleep_until(tick);
    if (measure_from == INT64_MAX && tick >= start + std::chrono::seconds(kWarmupSeconds))
      measure_from = NowMicros();
    const int64_t due =
        std::chrono::duration_cast<std::chrono::microseconds>(tick - start).count() * rate /
        1000000;
    for (; sent < due; ++sent) {
      const std::string& id = ids[sent % kDevices];
      json.clear();
      AppendRecordJson(SensorReading{.device_id = id,
                                     .location = "bench",
                                     .measurement_type = "temperature",
                                     .value = 20.0 + static_cast<double>(sent % 100) / 10,
                                     .timestamp_micros = NowMicros()},
                       json);
      if (Status s = (*producer)->Produce(kafka.sensors_topic, id, json); !s.ok())
        return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
    }
    (*producer)->Poll();
  }
  (void)(*producer)->Flush(std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the last batches commit
  stop = true;
  loading.join();
  (void)(*loader)->Close();

  std::lock_guard lock(mu);
  if (latencies.empty()) return std::fprintf(stderr, "no records measured\n"), 1;
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))] /
           1000.0;
  };
  std::printf(
      "latency at %d records/s for %d s: %zu records measured; event-to-queryable p50 %.0f ms, "
      "p99 %.0f ms, p99.9 %.0f ms, max %.0f ms\n",
      rate, seconds, latencies.size(), pct(0.50), pct(0.99), pct(0.999), latencies.back() / 1000.0);
  // Where a slow record waited: the loader's commit times (warm-up included), per bucket.
  const Histogram& commits = (*loader)->commit_latency();
  const std::vector<uint64_t> counts = commits.Counts();
  std::string buckets;
  for (size_t b = 0; b < counts.size(); ++b) {
    if (counts[b] == 0) continue;
    buckets += b < commits.bounds().size()
                   ? fmt::format(" <={}s:{}", commits.bounds()[b], counts[b])
                   : fmt::format(" >{}s:{}", commits.bounds().back(), counts[b]);
  }
  std::printf("commits by time:%s\n", buckets.c_str());
  return 0;
}
