#include "cli/serve.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "alert/runtime.h"
#include "analytics/kpi.h"
#include "analytics/live_state.h"
#include "api/api.h"
#include "api/auth.h"
#include "api/client.h"
#include "api/event_hub.h"
#include "api/server.h"
#include "api/worker_pool.h"
#include "bus/kafka_config.h"
#include "bus/producer.h"
#include "cli/exit.h"
#include "cli/signals.h"
#include "cli/topology.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/time.h"
#include "detect/online.h"
#include "ingest/http_ingest.h"
#include "ingest/loader.h"
#include "store/anomalies.h"
#include "store/duckdb.h"
#include "store/retention.h"

namespace dcmon::cli {
namespace {

using Clock = std::chrono::steady_clock;

// What serve reads, each part by the component that owns its keys (docs/configuration.md).
struct Settings {
  store::DatabaseOptions store;
  ingest::LoaderOptions loader;
  api::ServerOptions server;
  api::ApiOptions api;
  analytics::LiveStateOptions live;
  analytics::KpiOptions kpis;
  alert::RuntimeOptions alert;
  std::vector<alert::NotifierOptions> notifiers;
  Topology topology;  // the CRAH zones of alert.facility (cli/topology.h)
};

Result<Settings> SettingsFrom(const Config& c) {
  Result<store::DatabaseOptions> store = store::DatabaseOptionsFrom(c);
  if (!store.ok()) return store.status();
  Result<ingest::LoaderOptions> loader = ingest::LoaderOptionsFrom(c);
  if (!loader.ok()) return loader.status();
  Result<api::ServerOptions> server = api::ServerOptionsFrom(c);
  if (!server.ok()) return server.status();
  Result<api::ApiOptions> a = api::ApiOptionsFrom(c);
  if (!a.ok()) return a.status();
  Result<analytics::LiveStateOptions> live = analytics::LiveStateOptionsFrom(c);
  if (!live.ok()) return live.status();
  Result<analytics::KpiOptions> kpis = analytics::KpiOptionsFrom(c);
  if (!kpis.ok()) return kpis.status();
  Result<alert::RuntimeOptions> alert = alert::RuntimeOptionsFrom(c);
  if (!alert.ok()) return alert.status();
  Result<std::vector<alert::NotifierOptions>> notifiers =
      alert::NotifierOptionsFrom(c, c.Get("alert.external_url").value_or(""));
  if (!notifiers.ok()) return notifiers.status();
  Result<Topology> topology = TopologyFrom(c);
  if (!topology.ok()) return topology.status();
  kpis->topology = *topology;
  return Settings{*store,
                  std::move(*loader),
                  *server,
                  *a,
                  *live,
                  std::move(*kpis),
                  std::move(*alert),
                  std::move(*notifiers),
                  std::move(*topology)};
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

// Each record's source, one per Kafka partition: the detectors and the alert engine judge silence
// at the partitions' watermark.
std::vector<int64_t> SourcesOf(const store::WriteBatch& batch) {
  std::vector<int64_t> sources;
  sources.reserve(batch.origins.size());
  for (const store::Origin& o : batch.origins)
    sources.push_back(
        static_cast<int64_t>(std::hash<std::string>{}(o.topic) ^ static_cast<size_t>(o.partition)));
  return sources;
}

// The detectors over a committed batch: their anomalies stored, then pushed on the stream as
// `anomaly` events. Returns them (for the alert engine's anomaly rules).
std::vector<detect::Anomaly> DetectAndStore(detect::OnlineDetector& detector,
                                            store::AnomalyStore& store, api::EventHub& events,
                                            const store::WriteBatch& batch,
                                            std::span<const int64_t> sources) {
  std::vector<detect::Anomaly> found = detector.ObserveBatch(batch.records, sources);
  if (found.empty()) return found;
  Result<std::vector<store::StoredAnomaly>> stored = store.Append(found, NowMicros());
  if (!stored.ok()) {
    Logger("serve")->error("{}", stored.status().message());
    return found;
  }
  for (const store::StoredAnomaly& a : *stored) {
    std::string json;
    {
      JsonWriter w(json);
      store::WriteAnomalyJson(w, a);
    }
    events.Publish("anomaly", json);
  }
  return found;
}

}  // namespace

void AddServeFlags(CLI::App& cmd, ServeFlags& f) {
  f.kafka.Add(cmd);
  cmd.add_option("--store", f.store, "DuckDB file, :memory:, or md:DATABASE (store.path)");
  cmd.add_option("--listen", f.listen, "HOST:PORT for the API (api.listen)");
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
  if (!config.ok()) return Fail("serve", config.status());
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
  if (!settings.ok()) return Fail("serve", settings.status());
  Result<api::TokenStore> tokens = api::TokenStore::FromConfig(config);
  if (!tokens.ok()) return Fail("serve", tokens.status());
  ServeInfo info;
  if (std::optional<std::string> admin = config.Get("admin_token"); admin && !admin->empty()) {
    tokens->Add("admin", *admin, api::kScopeAll);
  } else {
    info.admin_token = api::GenerateToken();
    tokens->Add("admin", info.admin_token, api::kScopeAll);
  }

  Result<std::unique_ptr<store::Database>> db = store::Database::Open(settings->store);
  if (!db.ok()) return Fail("serve", db.status());

  analytics::LiveState live(settings->live);
  api::EventHub events;
  // Detection runs on the loader thread after each commit (docs/detection.md: online), with the
  // CRAH zones of `alert.facility` for the physics relations (without it every device is judged
  // on its own level and health).
  Result<detect::OnlineOptions> detect_options = detect::OnlineOptionsFrom(config);
  if (!detect_options.ok()) return Fail("serve", detect_options.status());
  Result<std::unique_ptr<detect::OnlineDetector>> detector =
      detect::OnlineDetector::Create(*detect_options, settings->topology);
  if (!detector.ok()) return Fail("serve", detector.status());
  Result<std::unique_ptr<store::AnomalyStore>> anomalies = store::AnomalyStore::Open(**db);
  if (!anomalies.ok()) return Fail("serve", anomalies.status());
  std::atomic<int64_t> last_publish{0};
  std::unique_ptr<alert::Runtime> alerts;  // created once the loader has migrated the store
  bool committed_since_tick = false;       // the loader thread's
  ingest::LoaderOptions loader_options = settings->loader;
  loader_options.on_commit = [&](const store::WriteBatch& batch, const store::CommitStats&) {
    live.Apply(batch.records);
    const std::vector<int64_t> sources = SourcesOf(batch);
    const std::vector<detect::Anomaly> found =
        DetectAndStore(**detector, **anomalies, events, batch, sources);
    if (alerts) {
      const analytics::LiveState::FacilityKpis kpis = live.Kpis();
      alerts->OnCommit(batch.records, sources, found, kpis.Named(), kpis.event_micros);
    }
    committed_since_tick = true;
    if (events.subscribers() > 0 && !batch.records.empty())
      events.Publish("readings", ReadingsEvent(batch.records));
  };
  Result<std::unique_ptr<ingest::Loader>> loader =
      ingest::Loader::Create(kafka, **db, std::move(loader_options));
  if (!loader.ok()) return Fail("serve", loader.status());
  if (config.Get("loader.forget_offsets") == "true") {
    // `dcmon run` with a new embedded broker: positions from an earlier broker would point past
    // the new one's end. Before the first assignment reads them.
    Result<std::unique_ptr<store::Connection>> conn = (*db)->Connect();
    Status s = conn.ok() ? (*conn)->Execute("DELETE FROM ingest_offsets") : conn.status();
    if (!s.ok()) return Fail("serve", s);
  }
  if (settings->alert.enabled) {
    Result<std::unique_ptr<alert::Runtime>> rt =
        alert::Runtime::Create(settings->alert, settings->topology, **db, NowMicros);
    if (!rt.ok()) return Fail("serve", rt.status());
    alerts = std::move(*rt);
  }
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(kafka);
  if (!producer.ok()) return Fail("serve", producer.status());
  ingest::HttpIngest http_ingest(**producer, kafka);
  Result<std::unique_ptr<api::WorkerPool>> reads = api::WorkerPool::Start(
      **db, {.threads = settings->api.read_threads, .timeout = settings->api.query_timeout});
  if (!reads.ok()) return Fail("serve", reads.status());
  // Ingest threads mostly wait for Kafka's acknowledgements: several overlap those waits.
  Result<std::unique_ptr<api::WorkerPool>> writes = api::WorkerPool::Start(
      **db, {.threads = settings->api.ingest_threads, .timeout = std::chrono::seconds(60)});
  if (!writes.ok()) return Fail("serve", writes.status());

  // Analysts' SQL runs on these connections: no files, no network, no settings changed from now
  // on, for every connection of this database (DuckDB's settings are per database).
  if (!settings->store.path.starts_with("md:")) {
    Result<std::unique_ptr<store::Connection>> admin = (*db)->Connect();
    Status s = admin.status();
    // The retention archive stays writable for the loader's Parquet exports.
    if (s.ok() && !settings->loader.retention.export_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(settings->loader.retention.export_dir, ec);
      s = (*admin)->Execute(fmt::format(
          "SET allowed_directories = [{}]",
          store::SqlString(
              std::filesystem::absolute(settings->loader.retention.export_dir).string() + "/")));
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
                      .kpis = &settings->kpis,
                      .events = &events,
                      .tokens = &*tokens,
                      .alerts = alerts.get(),
                      .zones = &settings->topology};
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
    l.WriteMetrics(e);
    if (alerts) alerts->WriteMetrics(e);
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
  if (!server.ok()) return Fail("serve", server.status());
  const std::string host = settings->server.host.find(':') != std::string::npos
                               ? "[" + settings->server.host + "]"
                               : settings->server.host;
  info.url = fmt::format("http://{}:{}", host, (*server)->port());
  if (alerts) {
    std::vector<std::unique_ptr<alert::Notifier>> notifiers;
    for (alert::NotifierOptions& o : settings->notifiers) {
      if (o.generator_url.empty()) o.generator_url = info.url;
      // One notification per call: 10 s is long for a receiver on the same network.
      auto post = [](const std::string& url, const std::string& body) -> Result<int> {
        Result<api::HttpResponse> r = api::HttpCall(
            "POST", url, {{"Content-Type", "application/json"}}, body, std::chrono::seconds(10));
        if (!r.ok()) return r.status();
        return r->status;
      };
      Result<std::unique_ptr<alert::Notifier>> n = alert::Notifier::Start(o, post, NowMicros);
      if (!n.ok()) return Fail("serve", n.status());
      notifiers.push_back(std::move(*n));
    }
    alerts->Start(std::move(notifiers), [&events](std::string_view event, std::string_view data) {
      if (events.subscribers() > 0) events.Publish(event, data);
    });
  }

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
        // Silence is noticed although no record comes to sweep the devices.
        if (alerts && !committed_since_tick) alerts->Tick();
        committed_since_tick = false;
      }
    }
    (void)l.Close();
  });

  log->info("API on {}, store {}, Kafka {} (group {})", info.url, settings->store.path,
            kafka.bootstrap, settings->loader.group);
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
  // leaves the group, streams end, Kafka gets what was produced, workers finish. Every step has a
  // deadline, so a broker that is down delays the stop by seconds, not until it comes back.
  log->info("stopping");
  (*server)->Stop(std::chrono::seconds(10));
  stop_loader.store(true);
  loader_thread.join();
  if (alerts) alerts->Stop();  // writes the last changes, sends what is queued
  events.Close();
  (*reads)->Stop();
  // Before the ingest workers stop: a request still waiting for its acknowledgement gets its
  // records' failure from the flush and answers 503 instead of waiting out its timeout.
  const Status flushed = (*producer)->Flush(std::chrono::seconds(3));
  (*writes)->Stop();
  server->reset();
  log->info("stopped: stored {}, rejected {}", l.counters().stored.load(),
            l.counters().rejected.load());
  // No HTTP client was told these records were taken (a 200 waits for the broker's
  // acknowledgement): they were answered 503, or their connection closed, and are not in Kafka.
  if (!flushed.ok())
    return Fail("serve", 1,
                flushed.message() + "; their ingest requests were not acknowledged to the clients");
  return 0;
}

}  // namespace dcmon::cli
