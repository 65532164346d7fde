#include "cli/serve.h"

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "analytics/live_state.h"
#include "api/api.h"
#include "api/auth.h"
#include "api/event_hub.h"
#include "api/server.h"
#include "api/worker_pool.h"
#include "bus/kafka_config.h"
#include "bus/producer.h"
#include "cli/exit.h"
#include "cli/signals.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/time.h"
#include "ingest/http_ingest.h"
#include "ingest/loader.h"
#include "store/duckdb.h"
#include "store/retention.h"

namespace dcmon::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The [store], [loader], [api] and [analytics] settings serve reads (docs/configuration.md).
struct Settings {
  store::DatabaseOptions store;
  std::string group = "dcmon-loader";
  api::ServerOptions server;
  api::ApiOptions api;
  int read_threads = 2;
  int ingest_threads = 4;
  std::chrono::milliseconds query_timeout{10000};
  analytics::LiveStateOptions live;
  store::RetentionOptions retention;
};

// "HOST:PORT", "[::1]:PORT" or ":PORT" (every interface).
Status ParseListen(std::string_view listen, api::ServerOptions& o) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(fmt::format("api.listen: expected HOST:PORT, got \"{}\"", listen));
  }
  std::string_view host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string_view port = listen.substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535) {
    return InvalidArgument(fmt::format("api.listen: port must be 0..65535, got \"{}\"", port));
  }
  o.host = host.empty() ? "0.0.0.0" : std::string(host);
  o.port = static_cast<uint16_t>(p);
  return Status::Ok();
}

Result<Settings> SettingsFrom(const Config& c) {
  Settings s;
  s.store.path = c.Get("store.path").value_or("data/dcmon.duckdb");
  s.store.memory_limit = c.Get("store.memory_limit").value_or(s.store.memory_limit);
  Result<int64_t> threads = c.GetInt("store.threads", s.store.threads, 1, 256);
  if (!threads.ok()) return threads.status();
  s.store.threads = static_cast<int>(*threads);
  s.group = c.Get("loader.group").value_or(s.group);
  if (Status st = ParseListen(c.Get("api.listen").value_or("127.0.0.1:8080"), s.server); !st.ok())
    return st;
  Result<int64_t> io = c.GetInt("api.io_threads", s.server.io_threads, 1, 64);
  if (!io.ok()) return io.status();
  s.server.io_threads = static_cast<int>(*io);
  Result<int64_t> reads = c.GetInt("api.read_threads", s.read_threads, 1, 64);
  if (!reads.ok()) return reads.status();
  s.read_threads = static_cast<int>(*reads);
  Result<int64_t> ingest = c.GetInt("api.ingest_threads", s.ingest_threads, 1, 64);
  if (!ingest.ok()) return ingest.status();
  s.ingest_threads = static_cast<int>(*ingest);
  Result<int64_t> timeout = c.GetInt("api.query_timeout_s", 10, 1, 3600);
  if (!timeout.ok()) return timeout.status();
  s.query_timeout = std::chrono::seconds(*timeout);
  Result<api::ApiOptions> a = api::ApiOptionsFrom(c);
  if (!a.ok()) return a.status();
  s.api = *a;
  Result<store::RetentionOptions> retention = store::RetentionOptionsFrom(c);
  if (!retention.ok()) return retention.status();
  s.retention = *retention;
  s.live.ashrae_class = c.Get("analytics.ashrae_class").value_or(s.live.ashrae_class);
  if (!analytics::FindEnvelope(s.live.ashrae_class)) {
    return InvalidArgument(fmt::format(
        "analytics.ashrae_class: expected A1, A2, A3, A4 or H1, got \"{}\"", s.live.ashrae_class));
  }
  Result<int64_t> stale = c.GetInt("analytics.stale_after_s", 300, 10, 86400);
  if (!stale.ok()) return stale.status();
  s.live.stale_after_micros = *stale * 1'000'000;
  return s;
}

// The newest value of each device in a committed batch, for the dashboard's live stream.
std::string ReadingsEvent(const std::vector<Record>& records) {
  std::unordered_map<std::string_view, const Record*> latest;
  for (const Record& r : records) {
    const Record*& slot = latest[DeviceIdOf(r)];
    auto time = [](const Record& x) {
      return std::visit([](const auto& v) { return v.timestamp_micros; }, x);
    };
    if (!slot || time(r) >= time(*slot)) slot = &r;
  }
  std::string out;
  {
    JsonWriter w(out);
    w.BeginArray();
    for (const auto& [id, r] : latest) {
      w.BeginObject();
      w.Key("device_id");
      w.String(id);
      if (const auto* s = std::get_if<SensorReading>(r)) {
        w.Key("measurement_type");
        w.String(s->measurement_type);
        w.Key("value");
        w.Double(s->value);
        w.Key("time");
        w.Timestamp(s->timestamp_micros);
      } else {
        const auto& c = std::get<CoolingMetric>(*r);
        w.Key("measurement_type");
        w.String("power_consumption_watts");
        w.Key("value");
        w.Double(c.power_consumption_watts);
        w.Key("efficiency_percent");
        w.Double(c.efficiency_percent);
        w.Key("time");
        w.Timestamp(c.timestamp_micros);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  return out;
}

}  // namespace

void AddServeFlags(CLI::App& cmd, ServeFlags& f) {
  f.kafka.Add(cmd);
  cmd.add_option("--store", f.store, "DuckDB file, :memory:, or md:DATABASE (store.path)");
  cmd.add_option("--listen", f.listen,
                 "HOST:PORT for the API (api.listen; default 127.0.0.1:8080)");
  cmd.add_option("--group", f.group, "Kafka consumer group of the loader (loader.group)");
}

CLI::App* AddServe(CLI::App& app, ServeFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "serve", "Load Kafka into DuckDB exactly once and serve the REST API, stream and metrics");
  AddServeFlags(*cmd, f);
  return cmd;
}

Result<Config> ServeFlags::Merge() const {
  Result<Config> c = kafka.Merge();
  if (!c.ok()) return c;
  if (!store.empty()) c->SetFlag("store.path", store);
  if (!listen.empty()) c->SetFlag("api.listen", listen);
  if (!group.empty()) c->SetFlag("loader.group", group);
  return c;
}

int RunServe(const ServeFlags& f) {
  Result<Config> config = f.Merge();
  if (!config.ok()) return Fail("serve", 2, config.status().message());
  InstallStopSignals();
  return ServeUntilStopped(*config, [](const ServeInfo& info) {
    std::printf("dcmon serve: API on %s\n", info.url.c_str());
    if (!info.admin_token.empty())
      std::printf("admin token (generated; set DCMON_ADMIN_TOKEN to choose one): %s\n",
                  info.admin_token.c_str());
    std::fflush(stdout);
  });
}

int ServeUntilStopped(const Config& config, const std::function<void(const ServeInfo&)>& on_ready) {
  auto log = Logger("serve");
  const bus::KafkaConfig kafka = bus::KafkaConfigFrom(config);
  if (Status s = kafka.Validate(); !s.ok())
    return Fail("serve", 2, s.message() + " (--kafka or DCMON_KAFKA_BOOTSTRAP)");
  Result<Settings> settings = SettingsFrom(config);
  if (!settings.ok()) return Fail("serve", 2, settings.status().message());
  Result<api::TokenStore> tokens = api::TokenStore::FromConfig(config);
  if (!tokens.ok()) return Fail("serve", 2, tokens.status().message());
  ServeInfo info;
  if (std::optional<std::string> admin = config.Get("admin_token"); admin && !admin->empty()) {
    tokens->Add("admin", *admin, api::kScopeAll);
  } else {
    info.admin_token = api::GenerateToken();
    tokens->Add("admin", info.admin_token, api::kScopeAll);
  }

  Result<std::unique_ptr<store::Database>> db = store::Database::Open(settings->store);
  if (!db.ok()) return Fail("serve", 1, db.status().message());

  analytics::LiveState live(settings->live);
  api::EventHub events;
  std::atomic<int64_t> last_publish{0};
  ingest::LoaderOptions loader_options{.group = settings->group, .retention = settings->retention};
  loader_options.on_commit = [&](const store::WriteBatch& batch, const store::CommitStats&) {
    live.Apply(batch.records);
    if (events.subscribers() > 0 && !batch.records.empty())
      events.Publish("readings", ReadingsEvent(batch.records));
  };
  Result<std::unique_ptr<ingest::Loader>> loader =
      ingest::Loader::Create(kafka, **db, std::move(loader_options));
  if (!loader.ok()) return Fail("serve", 1, loader.status().message());
  if (config.Get("loader.forget_offsets") == "true") {
    // `dcmon run` with a new embedded broker: positions from an earlier broker would point past
    // the new one's end. Before the first assignment reads them.
    Result<std::unique_ptr<store::Connection>> conn = (*db)->Connect();
    Status s = conn.ok() ? (*conn)->Execute("DELETE FROM ingest_offsets") : conn.status();
    if (!s.ok()) return Fail("serve", 1, s.message());
  }
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(kafka);
  if (!producer.ok()) return Fail("serve", 1, producer.status().message());
  ingest::HttpIngest http_ingest(**producer, kafka);
  Result<std::unique_ptr<api::WorkerPool>> reads = api::WorkerPool::Start(
      **db, {.threads = settings->read_threads, .timeout = settings->query_timeout});
  if (!reads.ok()) return Fail("serve", 1, reads.status().message());
  // Ingest threads mostly wait for Kafka's acknowledgements: several overlap those waits.
  Result<std::unique_ptr<api::WorkerPool>> writes = api::WorkerPool::Start(
      **db, {.threads = settings->ingest_threads, .timeout = std::chrono::seconds(60)});
  if (!writes.ok()) return Fail("serve", 1, writes.status().message());

  // Analysts' SQL runs on these connections: no files, no network, no settings changed from now
  // on, for every connection of this database (DuckDB's settings are per database).
  if (!settings->store.path.starts_with("md:")) {
    Result<std::unique_ptr<store::Connection>> admin = (*db)->Connect();
    Status s = admin.status();
    // The retention archive stays writable for the loader's Parquet exports.
    if (s.ok() && !settings->retention.export_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(settings->retention.export_dir, ec);
      s = (*admin)->Execute(fmt::format(
          "SET allowed_directories = [{}]",
          store::SqlString(std::filesystem::absolute(settings->retention.export_dir).string() +
                           "/")));
    }
    if (s.ok()) s = (*admin)->Execute("SET enable_external_access = false");
    if (s.ok()) s = (*admin)->Execute("SET lock_configuration = true");
    if (!s.ok())
      return Fail("serve", 1, s.WithPrefix("store: locking the configuration: ").message());
  }

  // Readiness, kept by the loop below and the loader thread; read by /readyz.
  std::atomic<bool> broker_ok{false};
  std::atomic<int64_t> loader_heartbeat{NowMicros()};
  std::mutex broker_mu;
  std::string broker_error = "not checked yet";
  ingest::Loader& l = **loader;

  api::ApiParts parts{.reads = reads->get(),
                      .writes = writes->get(),
                      .ingest = &http_ingest,
                      .live = &live,
                      .events = &events,
                      .tokens = &*tokens};
  parts.readiness = [&] {
    api::Readiness r;
    {
      std::lock_guard lock(broker_mu);
      r.checks.emplace_back("broker", broker_ok ? "ok" : broker_error);
    }
    r.checks.emplace_back("store", l.healthy() ? "ok" : l.last_error());
    const int64_t idle_s = (NowMicros() - loader_heartbeat.load()) / 1'000'000;
    r.checks.emplace_back("loader", idle_s < 30 ? "ok" : fmt::format("stuck for {} s", idle_s));
    for (const auto& [name, state] : r.checks) r.ready = r.ready && state == "ok";
    return r;
  };
  parts.pipeline_metrics = [&](Exposition& e) {
    const ingest::LoaderCounters& c = l.counters();
    e.Counter("dcmon_loader_records_total", "Records the loader handled, by outcome",
              {{"outcome", "stored"}}, static_cast<double>(c.stored.load()));
    e.Counter("dcmon_loader_records_total", "Records the loader handled, by outcome",
              {{"outcome", "rejected"}}, static_cast<double>(c.rejected.load()));
    e.Counter("dcmon_loader_records_total", "Records the loader handled, by outcome",
              {{"outcome", "duplicate"}}, static_cast<double>(c.duplicates.load()));
    e.Counter("dcmon_loader_dead_letters_total", "Rejects produced to the dead-letter topic", {},
              static_cast<double>(c.dead_letters.load()));
    e.Counter("dcmon_loader_late_records_total",
              "Stored records that arrived behind their device's newest event time", {},
              static_cast<double>(c.late.load()));
    e.Counter("dcmon_loader_batches_total", "Batches committed to the store", {},
              static_cast<double>(c.batches.load()));
    e.Counter("dcmon_loader_commit_failures_total", "Batches the store refused (retried)", {},
              static_cast<double>(c.commit_failures.load()));
    e.Counter("dcmon_kafka_lost_records_total",
              "Offsets that fell out of the broker's retention before they were loaded", {},
              static_cast<double>(l.consumer_counters().lost.load()));
    for (const bus::PartitionLag& p : l.partition_lags()) {
      if (p.lag < 0) continue;  // not known yet
      e.Gauge("dcmon_kafka_consumer_lag", "Records in a partition not yet loaded",
              {{"topic", p.topic}, {"partition", std::to_string(p.partition)}},
              static_cast<double>(p.lag));
    }
    e.Histogram("dcmon_loader_commit_seconds", "Time to commit one batch to the store", {},
                l.commit_latency());
    const bus::ProducerCounters& pc = (*producer)->counters();
    e.Counter("dcmon_ingest_records_total", "Records from HTTP ingest, by Kafka outcome",
              {{"outcome", "acked"}}, static_cast<double>(pc.acked.load()));
    e.Counter("dcmon_ingest_records_total", "Records from HTTP ingest, by Kafka outcome",
              {{"outcome", "failed"}}, static_cast<double>(pc.failed.load()));
    e.Counter("dcmon_ingest_late_deliveries_total",
              "Kafka delivery reports that came after their HTTP request was answered 503", {},
              static_cast<double>(pc.late.load()));
    std::error_code ec;
    const auto size = std::filesystem::file_size(settings->store.path, ec);
    if (!ec) e.Gauge("dcmon_store_bytes", "Size of the store file", {}, static_cast<double>(size));
  };

  api::Api api(settings->api, std::move(parts));
  Result<std::unique_ptr<api::HttpServer>> server = api::HttpServer::Start(settings->server, api);
  if (!server.ok()) return Fail("serve", 1, server.status().message());

  std::atomic<bool> stop_loader{false};
  std::thread loader_thread([&] {
    while (!stop_loader.load()) {
      loader_heartbeat.store(NowMicros());
      // A failed commit is logged here; the loader itself rewinds, pauses and backs off.
      if (Status s = l.RunOnce(); !s.ok()) log->error("{}", s.message());
      // The summary once a second: as data lands, and so that silent sensors turn stale.
      const int64_t now = NowMicros();
      if (now - last_publish.load() >= 1'000'000) {
        last_publish.store(now);
        live.Publish(now);
        if (events.subscribers() > 0) events.Publish("summary", *live.Summary());
      }
    }
    (void)l.Close();
  });

  const std::string host = settings->server.host.find(':') != std::string::npos
                               ? "[" + settings->server.host + "]"
                               : settings->server.host;
  info.url = fmt::format("http://{}:{}", host, (*server)->port());
  log->info("API on {}, store {}, Kafka {} (group {})", info.url, settings->store.path,
            kafka.bootstrap, settings->group);
  on_ready(info);

  auto last_check = Clock::time_point();
  auto last_heartbeat = Clock::now();
  while (!StopRequested()) {
    const auto now = Clock::now();
    if (now - last_check >= std::chrono::seconds(5)) {
      last_check = now;
      const rd_kafka_metadata_t* md = nullptr;
      const rd_kafka_resp_err_t err =
          rd_kafka_metadata((*producer)->handle(), 0, nullptr, &md, 2000);
      if (md) rd_kafka_metadata_destroy(md);
      std::lock_guard lock(broker_mu);
      broker_ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
      broker_error = fmt::format("{}: {}", kafka.bootstrap, rd_kafka_err2str(err));
    }
    if (now - last_heartbeat >= std::chrono::seconds(15)) {
      last_heartbeat = now;
      events.Heartbeat();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // Stop in order: no new requests (those in flight finish), the loader commits what it holds and
  // leaves the group, streams end, workers finish, Kafka gets what was produced.
  log->info("stopping");
  (*server)->Stop(std::chrono::seconds(10));
  stop_loader.store(true);
  loader_thread.join();
  events.Close();
  (*reads)->Stop();
  (*writes)->Stop();
  if (Status s = (*producer)->Flush(std::chrono::seconds(10)); !s.ok())
    log->warn("{}", s.message());
  server->reset();
  log->info("stopped: stored {}, rejected {}", l.counters().stored.load(),
            l.counters().rejected.load());
  return 0;
}

}  // namespace dcmon::cli
