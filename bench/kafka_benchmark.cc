// Kafka transport throughput on the embedded broker (issue #4): produce simulator records, consume
// them with dcmon's consumer, and consume the same topic with kcat for comparison. One process, the
// broker in it; the embedded broker keeps about 5 MB per partition, so the topic has enough
// partitions to hold the whole run.
//
//   build/bench/kafka_benchmark [records]       (default 2,000,000)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bus/consumer.h"
#include "bus/embedded_broker.h"
#include "bus/producer.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Keeps the simulator's lines in memory.
class Lines : public dcmon::Sink {
 public:
  dcmon::Status Write(std::string_view key, std::string_view line) override {
    keys.emplace_back(key);
    values.emplace_back(line);
    return dcmon::Status::Ok();
  }
  dcmon::Status Flush() override { return dcmon::Status::Ok(); }
  std::vector<std::string> keys, values;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace dcmon;
  const size_t want = argc > 1 ? std::stoul(argv[1]) : 2000000;
  const std::string topic = "bench";
  auto broker = bus::EmbeddedBroker::Start({.brokers = 1, .partitions = 64, .topics = {topic}});
  if (!broker.ok()) return std::fprintf(stderr, "%s\n", broker.status().message().c_str()), 1;
  bus::KafkaConfig kafka{.bootstrap = (*broker)->bootstrap()};

  Lines lines;
  const int64_t start = *ParseRfc3339("2025-08-01T00:00:00Z");
  auto sim =
      sim::Simulator::Create(*sim::LoadFacility("small"), {.seed = 1, .start_micros = start});
  for (int64_t t = start; lines.values.size() < want; t += 3600LL * 1000000)
    (void)(*sim)->RunUntil(t, lines, nullptr);
  lines.keys.resize(want);
  lines.values.resize(want);
  size_t bytes = 0;
  for (const auto& v : lines.values) bytes += v.size();

  auto producer = bus::Producer::Create(kafka);
  const auto t0 = Clock::now();
  for (size_t i = 0; i < want; ++i) {
    if (Status s = (*producer)->Produce(topic, lines.keys[i], lines.values[i]); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
    }
  }
  if (Status s = (*producer)->Flush(std::chrono::seconds(120)); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
  }
  const double produce_s = Seconds(t0);
  std::printf(
      "produce: %zu records (%.0f MB of JSON) in %.2f s = %.2f M records/s, acked %lld, failed "
      "%lld\n",
      want, bytes / 1e6, produce_s, want / produce_s / 1e6,
      static_cast<long long>((*producer)->counters().acked.load()),
      static_cast<long long>((*producer)->counters().failed.load()));

  auto consumer = bus::Consumer::Create(kafka, "bench", {topic}, nullptr);
  bus::Batch batch;
  size_t got = 0;
  Clock::time_point c0;
  while (got < want) {
    batch.Clear();
    (void)(*consumer)->Poll(50000, std::chrono::milliseconds(1000), batch);
    if (got == 0 && !batch.empty())
      c0 = Clock::now();  // the clock starts at the first record (after the join)
    got += batch.size();
  }
  const double consume_s = Seconds(c0);
  std::printf("consume (dcmon): %zu records in %.2f s = %.2f M records/s, lost %lld\n", got,
              consume_s, got / consume_s / 1e6,
              static_cast<long long>((*consumer)->counters().lost.load()));
  (void)(*consumer)->Close();

  // kcat on the same topic: the time includes its connection set-up, like the first-record start
  // above does not, so it is a lower bound on kcat's rate.
  const std::string command =
      "kcat -C -b " + kafka.bootstrap + " -t " + topic + " -o beginning -e -q | wc -l";
  const auto k0 = Clock::now();
  FILE* kcat = popen(command.c_str(), "r");
  long long kcat_records = 0;
  if (!kcat || std::fscanf(kcat, "%lld", &kcat_records) != 1)
    return std::fprintf(stderr, "kcat failed\n"), 1;
  pclose(kcat);
  const double kcat_s = Seconds(k0);
  std::printf("consume (kcat -C -e -q): %lld records in %.2f s = %.2f M records/s\n", kcat_records,
              kcat_s, kcat_records / kcat_s / 1e6);
  std::printf("ratio dcmon/kcat consume rate: %.2f\n", (got / consume_s) / (kcat_records / kcat_s));
  return 0;
}
