#include "alert/runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "store/schema.h"

namespace dcmon::alert {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kT0 = 1'750'000'000 * kS;

// Waits for `done` with a deadline (never a fixed sleep).
template <typename F>
bool WaitFor(F done, std::chrono::seconds deadline = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

CoolingMetric Crah(double fan, int64_t t) {
  CoolingMetric c{.system_id = "room-1-crah-2",
                  .efficiency_percent = 99,
                  .power_consumption_watts = 300,
                  .timestamp_micros = t};
  c.placement.room = "room-1";
  c.fan_speed_percent = fan;
  return c;
}

Topology Zone() { return {{{.crah = "room-1-crah-2", .room = "room-1", .racks = {"room-1-a01"}}}}; }

struct Db {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("runtime_test_" + std::to_string(::getpid()) + ".duckdb"))
                         .string();
  Db() { std::filesystem::remove(path); }
  ~Db() {
    std::filesystem::remove(path);
    std::filesystem::remove(path + ".wal");
  }
  std::unique_ptr<store::Database> Open() {
    auto db = store::Database::Open({.path = path, .memory_limit = "256MB", .threads = 1});
    EXPECT_TRUE(db.ok()) << db.status().message();
    auto conn = (*db)->Connect();
    auto v = store::Migrate(**conn);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return std::move(*db);
  }
};

// Fires the default CrahUnitDown (fan below 1 % for 60 s) for room-1-crah-2.
void TripCrah(Runtime& rt) {
  for (int64_t t = 0; t <= 60; t += 10) {
    std::vector<Record> batch{Crah(0, kT0 + t * kS)};
    rt.OnCommit(batch);
  }
}

TEST(Runtime, FiringAlertSurvivesARestartWithItsStart) {
  Db file;
  int64_t starts_at = 0;
  {
    auto db = file.Open();
    auto rt = Runtime::Create({}, Zone(), *db, [] { return kT0 + 61 * kS; });
    ASSERT_TRUE(rt.ok()) << rt.status().message();
    (*rt)->Start({}, nullptr);
    TripCrah(**rt);
    ASSERT_TRUE(WaitFor([&] { return (*rt)->Current({.state = "firing"}).size() == 1; }));
    const AlertStatus a = (*rt)->Current({})[0];
    EXPECT_EQ(a.id, "CrahUnitDown/room-1-crah-2");
    EXPECT_EQ(a.zone_unit, "room-1-crah-2");
    EXPECT_EQ(a.alert.affected_racks, std::vector<std::string>{"room-1-a01"});
    starts_at = a.alert.starts_at_micros;
    ASSERT_TRUE((*rt)->Acknowledge(a.id, "alice").ok());
    (*rt)->Stop();
  }
  auto db = file.Open();
  auto conn = db->Connect();
  auto events = (*conn)->Query("SELECT event_seq, state FROM alert_events ORDER BY event_seq");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->rows(), 2u);
  EXPECT_EQ(events->Text(1, 0), "pending");
  EXPECT_EQ(events->Text(1, 1), "firing");
  auto rt = Runtime::Create({}, Zone(), *db, [] { return kT0 + 600 * kS; });
  ASSERT_TRUE(rt.ok()) << rt.status().message();
  (*rt)->Start({}, nullptr);
  std::vector<AlertStatus> now = (*rt)->Current({});
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].alert.state, AlertState::kFiring);
  EXPECT_EQ(now[0].alert.starts_at_micros, starts_at);
  EXPECT_EQ(now[0].acknowledged_by, "alice");
  // The unit restarts: resolved, the history continues after the restored cursor.
  std::vector<Record> up{Crah(60, kT0 + 600 * kS)};
  (*rt)->OnCommit(up);
  ASSERT_TRUE(WaitFor([&] { return (*rt)->Current({}).empty(); }));
  (*rt)->Stop();
  events = (*conn)->Query("SELECT event_seq, state FROM alert_events ORDER BY event_seq");
  ASSERT_EQ(events->rows(), 3u);
  EXPECT_EQ(events->Int64(0, 2), 3);
  EXPECT_EQ(events->Text(1, 2), "resolved");
  EXPECT_EQ((*conn)->Query("SELECT count(*) FROM alerts")->Int64(0, 0), 0);
}

// A backfill: each batch carries two partitions read 8 minutes apart in event time. OnCommit hands
// the engine each record's partition, so the lagging partition's unit is not DeviceSilent (300 s).
TEST(Runtime, LaggingPartitionInABatchDoesNotFlapDeviceSilent) {
  Db file;
  auto db = file.Open();
  auto rt = Runtime::Create({}, Zone(), *db, [] { return kT0 + 86400 * kS; });
  ASSERT_TRUE(rt.ok());
  (*rt)->Start({}, nullptr);
  for (int64_t t = 480; t <= 1800; t += 30) {
    CoolingMetric behind = Crah(60, kT0 + (t - 480) * kS);
    behind.system_id = "room-1-crah-3";
    std::vector<Record> batch{Crah(60, kT0 + t * kS), behind};
    const std::vector<int64_t> sources{0, 1};
    (*rt)->OnCommit(batch, sources);
  }
  (*rt)->Stop();
  auto conn = db->Connect();
  EXPECT_EQ((*conn)->Query("SELECT count(*) FROM alert_events")->Int64(0, 0), 0);
}

// Changes of one alert within one write interval (a flap during a backfill) are one transaction:
// every event in the history, the last state in `alerts`.
TEST(Runtime, SeveralChangesOfOneAlertInOneWrite) {
  Db file;
  auto db = file.Open();
  auto rt = Runtime::Create({}, Zone(), *db, [] { return kT0; });
  ASSERT_TRUE(rt.ok());
  (*rt)->Start({}, nullptr);
  for (auto [fan, t] : {std::pair{0.0, 0}, {0.0, 60}, {60.0, 70}, {0.0, 80}}) {
    std::vector<Record> batch{Crah(fan, kT0 + t * kS)};
    (*rt)->OnCommit(batch);
  }
  (*rt)->Stop();
  auto conn = db->Connect();
  auto events =
      (*conn)->Query("SELECT string_agg(state, ',' ORDER BY event_seq) FROM alert_events");
  EXPECT_EQ(events->Text(0, 0), "pending,firing,resolved,pending");
  auto current = (*conn)->Query("SELECT id, state FROM alerts");
  ASSERT_EQ(current->rows(), 1u);
  EXPECT_EQ(current->Text(1, 0), "pending");
}

// A fake receiver: records bodies, answers with the next status of `answers` (then 200).
struct FakeReceiver {
  std::mutex mu;
  std::vector<std::string> bodies;
  std::vector<int> answers;
  HttpPost Post() {
    return [this](const std::string&, const std::string& body) -> Result<int> {
      std::lock_guard lock(mu);
      bodies.push_back(body);
      if (answers.empty()) return 200;
      const int a = answers.front();
      answers.erase(answers.begin());
      if (a == 0) return Unavailable("connection refused");
      return a;
    };
  }
  size_t count() {
    std::lock_guard lock(mu);
    return bodies.size();
  }
};

TEST(Runtime, SilencedAlertsAreNotSentAndTheRestIs) {
  Db file;
  auto db = file.Open();
  FakeReceiver hook;
  auto rt = Runtime::Create({}, Zone(), *db, [] { return kT0 + 61 * kS; });
  ASSERT_TRUE(rt.ok());
  auto n = Notifier::Start({.name = "webhook", .url = "http://receiver/"}, hook.Post(),
                           [] { return kT0; });
  ASSERT_TRUE(n.ok()) << n.status().message();
  std::vector<std::unique_ptr<Notifier>> notifiers;
  notifiers.push_back(std::move(*n));
  (*rt)->Start(std::move(notifiers), nullptr);
  auto silence = Silence::Create({{.name = "room", .value = "room-.*", .is_regex = true}}, kT0,
                                 kT0 + 3600 * kS, "maintenance", "bob");
  ASSERT_TRUE(silence.ok());
  ASSERT_TRUE((*rt)->AddSilence(std::move(*silence)).ok());
  TripCrah(**rt);
  ASSERT_TRUE(WaitFor([&] { return (*rt)->Current({.state = "firing"}).size() == 1; }));
  EXPECT_FALSE((*rt)->Current({})[0].silenced_by.empty());
  // Expired: the firing alert is sent now.
  ASSERT_TRUE((*rt)->ExpireSilence((*rt)->Silences()[0].id).ok());
  ASSERT_TRUE(WaitFor([&] { return hook.count() == 1; }));
  EXPECT_NE(hook.bodies[0].find(R"({"status":"firing","alert":{"id":"CrahUnitDown/room-1-crah-2")"),
            std::string::npos)
      << hook.bodies[0];
  std::vector<Record> up{Crah(60, kT0 + 100 * kS)};
  (*rt)->OnCommit(up);
  ASSERT_TRUE(WaitFor([&] { return hook.count() == 2; }));
  EXPECT_NE(hook.bodies[1].find(R"({"status":"resolved")"), std::string::npos);
  (*rt)->Stop();
}

AlertStatus Firing() {
  AlertStatus s;
  s.alert.rule = "CrahUnitDown";
  s.alert.device = "room-1-crah-2";
  s.alert.state = AlertState::kFiring;
  s.alert.starts_at_micros = kT0;
  s.alert.labels = {{"alertname", "CrahUnitDown"}, {"device", "room-1-crah-2"}};
  s.id = AlertId(s.alert);
  return s;
}

TEST(Notifier, RetriesWithBackOffThenCountsTheFailure) {
  FakeReceiver am;
  am.answers = {503, 0, 503};
  // Short waits: the test checks the counting, not the default pace.
  auto n = Notifier::Start({.name = "alertmanager",
                            .kind = NotifierKind::kAlertmanager,
                            .url = "http://am:9093",
                            .max_attempts = 3,
                            .initial_backoff = std::chrono::milliseconds(1)},
                           am.Post(), [] { return kT0; });
  ASSERT_TRUE(n.ok());
  (*n)->Send(Firing());
  ASSERT_TRUE(WaitFor([&] { return (*n)->counters().failed.load() == 1; }));
  EXPECT_EQ((*n)->counters().retries.load(), 2);
  EXPECT_EQ((*n)->counters().sent.load(), 0);
  AlertStatus resolved = Firing();
  resolved.alert.state = AlertState::kResolved;
  resolved.alert.ends_at_micros = kT0 + 120 * kS;
  (*n)->Send(resolved);
  ASSERT_TRUE(WaitFor([&] { return (*n)->counters().sent.load() == 1; }));
  std::lock_guard lock(am.mu);
  EXPECT_NE(
      am.bodies.back().find(R"("startsAt":"2025-06-15T15:06:40Z","endsAt":"2025-06-15T15:08:40Z")"),
      std::string::npos)
      << am.bodies.back();
}

TEST(Notifier, AlertmanagerFiringIsValidForFourResendIntervals) {
  FakeReceiver am;
  auto n = Notifier::Start({.name = "alertmanager",
                            .kind = NotifierKind::kAlertmanager,
                            .url = "http://am:9093",
                            .generator_url = "http://dcmon:8080"},
                           am.Post(), [] { return kT0 + 10 * kS; });
  ASSERT_TRUE(n.ok());
  (*n)->Send(Firing());
  ASSERT_TRUE(WaitFor([&] { return am.count() == 1; }));
  std::lock_guard lock(am.mu);
  EXPECT_EQ(am.bodies[0],
            R"([{"labels":{"alertname":"CrahUnitDown","device":"room-1-crah-2"},"annotations":{},)"
            R"("startsAt":"2025-06-15T15:06:40Z","endsAt":"2025-06-15T15:10:50Z",)"
            R"("generatorURL":"http://dcmon:8080/api/v1/alerts?rule=CrahUnitDown"}])");
}

TEST(Notifier, ResolveOfAnAlertNeverPagedIsNotSent) {
  FakeReceiver hook;
  auto n = Notifier::Start({.name = "webhook", .url = "http://receiver/"}, hook.Post(),
                           [] { return kT0; });
  ASSERT_TRUE(n.ok());
  AlertStatus resolved = Firing();
  resolved.alert.state = AlertState::kResolved;
  (*n)->Send(resolved);
  (*n)->Send(Firing());
  ASSERT_TRUE(WaitFor([&] { return hook.count() == 1; }));
  (*n)->Stop();
  EXPECT_EQ(hook.count(), 1u);
}

TEST(Notifier, OptionsNameTheField) {
  auto n = Notifier::Start({.name = "webhook", .url = "https://x"}, FakeReceiver().Post(),
                           [] { return kT0; });
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("alert.webhook.url"), std::string::npos);
}

TEST(Silence, MatchersAreAnchoredAndChecked) {
  auto s = Silence::Create({{.name = "room", .value = "room-1", .is_regex = true}}, 0, 10, "", "");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches({{"room", "room-1"}}));
  EXPECT_FALSE(s->Matches({{"room", "room-10"}}));
  EXPECT_FALSE(s->Matches({}));
  auto bad = Silence::Create({{.name = "room", .value = "(", .is_regex = true}}, 0, 10, "", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("matchers[0].value"), std::string::npos);
  EXPECT_FALSE(Silence::Create({{.name = "a", .value = "b"}}, 10, 10, "", "").ok());
}

// Every key's bad value is refused with the key's name (write_interval_ms was read, not checked:
// a bad value became a 0 ms interval).
TEST(RuntimeOptions, ABadValueNamesItsKey) {
  for (const char* key :
       {"alert.sweep_interval_s", "alert.stale_cadence_factor", "alert.max_future_s",
        "alert.max_source_lag_s", "alert.max_queued_batches", "alert.write_interval_ms"}) {
    for (const char* value : {"soon", "-1", "99999999999"}) {
      Config c;
      c.SetFlag(key, value);
      Result<RuntimeOptions> o = RuntimeOptionsFrom(c);
      ASSERT_FALSE(o.ok()) << key << " = " << value;
      EXPECT_THAT(o.status().message(), ::testing::HasSubstr(key)) << value;
    }
  }
  Config c;
  c.SetFlag("alert.write_interval_ms", "500");
  Result<RuntimeOptions> o = RuntimeOptionsFrom(c);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->write_interval, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace dcmon::alert
