#include "alert/runtime.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

#include "alert/default_rules.h"
#include "core/log.h"

namespace dcmon::alert {

Status RuntimeOptions::Validate() const {
  if (Status s = engine.Validate(); !s.ok()) return s;
  if (max_queued_batches < 1)
    return InvalidArgument("alert.max_queued_batches: must be at least 1");
  return Status::Ok();
}

Result<RuntimeOptions> RuntimeOptionsFrom(const Config& c) {
  RuntimeOptions o;
  Result<bool> enabled = c.GetBool("alert.enabled", o.enabled);
  Result<int64_t> sweep = c.GetInt("alert.sweep_interval_s", o.engine.sweep_interval_s, 1, 3600);
  Result<int64_t> factor =
      c.GetInt("alert.stale_cadence_factor", o.engine.stale_cadence_factor, 1, 100);
  Result<int64_t> future = c.GetInt("alert.max_future_s", o.engine.max_future_s, 0, 86400);
  Result<int64_t> lag = c.GetInt("alert.max_source_lag_s", o.engine.max_source_lag_s, 1, 86400);
  Result<int64_t> batches = c.GetInt("alert.max_queued_batches",
                                     static_cast<int64_t>(o.max_queued_batches), 1, 10'000'000);
  Result<int64_t> write = c.GetInt("alert.write_interval_ms", o.write_interval.count(), 1, 60'000);
  for (const Status* s : {&enabled.status(), &sweep.status(), &factor.status(), &future.status(),
                          &lag.status(), &batches.status(), &write.status()}) {
    if (!s->ok()) return *s;
  }
  o.enabled = *enabled;
  o.rules_path = c.Get("alert.rules").value_or("");
  o.engine.sweep_interval_s = *sweep;
  o.engine.stale_cadence_factor = *factor;
  o.engine.max_future_s = *future;
  o.engine.max_source_lag_s = *lag;
  o.max_queued_batches = static_cast<size_t>(*batches);
  o.write_interval = std::chrono::milliseconds(*write);
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

Result<std::vector<Rule>> RulesFrom(const std::string& path) {
  if (!path.empty()) {
    Result<std::vector<Rule>> rules = LoadRules(path);
    if (!rules.ok()) return rules.status().WithPrefix("alert.rules: ");
    return rules;
  }
  return ParseRules(kDefaultRules[0].content, "config/alerts.toml (built in)");
}

Result<std::vector<NotifierOptions>> NotifierOptionsFrom(const Config& c,
                                                         const std::string& generator_url) {
  std::vector<NotifierOptions> out;
  for (auto [name, kind] : {std::pair{"alertmanager", NotifierKind::kAlertmanager},
                            std::pair{"webhook", NotifierKind::kWebhook}}) {
    const std::string prefix = fmt::format("alert.{}.", name);
    std::optional<std::string> url = c.Get(prefix + "url");
    if (!url || url->empty()) continue;
    NotifierOptions o{.name = name, .kind = kind, .url = *url, .generator_url = generator_url};
    while (!o.url.empty() && o.url.back() == '/' && kind == NotifierKind::kAlertmanager)
      o.url.pop_back();
    Result<int64_t> resend = c.GetInt(prefix + "resend_interval_s", o.resend_interval_s, 1, 86400);
    Result<int64_t> attempts = c.GetInt(prefix + "max_attempts", o.max_attempts, 1, 100);
    Result<int64_t> queue =
        c.GetInt(prefix + "max_queue", static_cast<int64_t>(o.max_queue), 1, 1'000'000);
    for (const Status* s : {&resend.status(), &attempts.status(), &queue.status()}) {
      if (!s->ok()) return *s;
    }
    o.resend_interval_s = *resend;
    o.max_attempts = static_cast<int>(*attempts);
    o.max_queue = static_cast<size_t>(*queue);
    if (Status s = o.Validate(); !s.ok()) return s;
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::unique_ptr<Runtime>> Runtime::Create(RuntimeOptions options, Topology topology,
                                                 store::Database& db,
                                                 std::function<int64_t()> clock) {
  if (Status s = options.Validate(); !s.ok()) return s;
  Result<std::vector<Rule>> rules = RulesFrom(options.rules_path);
  if (!rules.ok()) return rules.status();
  Result<Engine> engine = Engine::Create(*rules, topology, options.engine, clock);
  if (!engine.ok()) return engine.status();
  Result<std::unique_ptr<store::Connection>> conn = db.Connect();
  if (!conn.ok()) return conn.status();
  Result<AlertStore> st = AlertStore::Open(**conn);
  if (!st.ok()) return st.status();
  Result<std::vector<AlertStatus>> current = st->LoadCurrent();
  if (!current.ok()) return current.status();
  Result<std::vector<Silence>> silences = st->LoadSilences(clock());
  if (!silences.ok()) return silences.status();
  std::vector<Alert> alerts;
  for (const AlertStatus& s : *current) alerts.push_back(s.alert);
  engine->Restore(std::move(alerts));
  std::unique_ptr<Runtime> rt(new Runtime(std::move(options), std::move(*rules),
                                          std::move(topology), std::move(*engine), std::move(*conn),
                                          std::move(*st), std::move(clock)));
  const int64_t now = rt->clock_();
  for (AlertStatus& s : *current) {
    s.zone_unit = rt->ZoneUnitOf(s.alert);
    rt->current_.emplace(s.id, std::move(s));
  }
  rt->silences_ = std::move(*silences);
  for (auto& [id, s] : rt->current_) s.silenced_by = rt->SilenceFor(s.alert, now);
  if (!rt->current_.empty())
    Logger("alert")->info("restored {} pending or firing alert(s) from the store",
                          rt->current_.size());
  return rt;
}

Runtime::Runtime(RuntimeOptions options, std::vector<Rule> rules, Topology topology, Engine engine,
                 std::unique_ptr<store::Connection> conn, AlertStore store,
                 std::function<int64_t()> clock)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      clock_(std::move(clock)),
      engine_(std::move(engine)),
      conn_(std::move(conn)),
      store_(std::move(store)) {
  for (const Topology::Zone& z : topology.zones) {
    is_unit_[z.crah] = true;
    for (const std::string& rack : z.racks) zone_unit_of_rack_[rack] = z.crah;
  }
}

Runtime::~Runtime() { Stop(); }

void Runtime::Start(std::vector<std::unique_ptr<Notifier>> notifiers, Publish publish) {
  {
    std::lock_guard lock(mu_);  // WriteMetrics reads the list
    notifiers_ = std::move(notifiers);
  }
  publish_ = std::move(publish);
  // What was firing before a restart is paged again (Alertmanager expects the re-send anyway).
  for (const auto& [id, s] : current_) Page(s);
  thread_ = std::thread([this] { Run(); });
}

void Runtime::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& n : notifiers_) n->Stop();
}

void Runtime::OnCommit(std::span<const Record> records, std::span<const int64_t> sources,
                       std::span<const detect::Anomaly> anomalies, std::span<const Kpi> kpis,
                       int64_t kpi_micros) {
  const auto start = std::chrono::steady_clock::now();
  engine_.ObserveBatch(records, sources);
  for (const detect::Anomaly& a : anomalies) engine_.ObserveAnomaly(a);
  for (const auto& [name, value] : kpis) engine_.ObserveKpi(name, value, kpi_micros);
  std::vector<AlertEvent> events = engine_.TakeEvents();
  evaluation_nanos_ +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  records_ += static_cast<int64_t>(records.size());
  HandOff(std::move(events));
}

void Runtime::Tick() {
  engine_.Tick();
  HandOff(engine_.TakeEvents());
}

void Runtime::HandOff(std::vector<AlertEvent> events) {
  engine_dropped_.store(engine_.counters().dropped_events);
  if (events.empty()) return;
  const auto n = static_cast<int64_t>(events.size());
  if (!Enqueue([this, e = std::move(events)]() mutable { Apply(std::move(e)); }))
    handoff_dropped_ += n;
}

bool Runtime::Enqueue(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || jobs_.size() >= options_.max_queued_batches) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
  return true;
}

void Runtime::Run() {
  using std::chrono::steady_clock;
  auto next_housekeeping = steady_clock::now();
  auto next_write = steady_clock::now();
  std::unique_lock lock(mu_);
  while (true) {
    const auto wake =
        unwritten_.empty() ? next_housekeeping : std::min(next_housekeeping, next_write);
    cv_.wait_until(lock, wake, [&] { return stop_ || !jobs_.empty(); });
    while (!jobs_.empty()) {
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
    const bool stopping = stop_;
    lock.unlock();
    // One transaction for what came in over the interval: during a backfill the loader commits
    // many batches a second, and a store write per batch competed with its commits.
    if (!unwritten_.empty() && (stopping || steady_clock::now() >= next_write)) {
      Flush();
      next_write = steady_clock::now() + options_.write_interval;
    }
    if (!stopping && steady_clock::now() >= next_housekeeping) {
      next_housekeeping = steady_clock::now() + std::chrono::seconds(1);
      Housekeep();
    }
    lock.lock();
    if (stopping && jobs_.empty()) break;
  }
}

void Runtime::Flush() {
  if (unwritten_.empty()) return;
  if (Status st = store_.Record(unwritten_, clock_()); !st.ok()) {
    ++store_errors_;
    Logger("alert")->error("{}", st.message());
  }
  unwritten_.clear();
}

std::string Runtime::ZoneUnitOf(const Alert& a) const {
  if (is_unit_.count(a.device)) return a.device;
  auto rack = a.labels.find("rack");
  if (rack == a.labels.end()) return "";
  auto unit = zone_unit_of_rack_.find(rack->second);
  return unit == zone_unit_of_rack_.end() ? "" : unit->second;
}

std::string Runtime::SilenceFor(const Alert& a, int64_t now) const {
  for (const Silence& s : silences_) {
    if (s.Active(now) && s.Matches(a.labels)) return s.id;
  }
  return "";
}

void Runtime::Page(const AlertStatus& s) {
  const bool paged = s.alert.state == AlertState::kResolved ||
                     (s.alert.state == AlertState::kFiring && s.alert.inhibited_by.empty() &&
                      s.silenced_by.empty());
  if (!paged) return;
  for (auto& n : notifiers_) n->Send(s);
}

void Runtime::Apply(std::vector<AlertEvent> events) {
  const int64_t now = clock_();
  std::vector<AlertStatus> changes;
  changes.reserve(events.size());
  {
    std::lock_guard lock(mu_);
    for (AlertEvent& e : events) {
      AlertStatus s;
      s.id = AlertId(e.alert);
      s.alert = std::move(e.alert);
      s.alert.state = e.state;
      s.zone_unit = ZoneUnitOf(s.alert);
      s.silenced_by = SilenceFor(s.alert, now);
      auto it = current_.find(s.id);
      if (it != current_.end()) {
        s.acknowledged_by = it->second.acknowledged_by;
        s.acknowledged_at_micros = it->second.acknowledged_at_micros;
      }
      if (e.state == AlertState::kResolved) {
        if (it != current_.end()) current_.erase(it);
      } else {
        current_[s.id] = s;
      }
      changes.push_back(std::move(s));
    }
  }
  for (const AlertStatus& s : changes) {
    (s.alert.state == AlertState::kPending  ? events_pending_
     : s.alert.state == AlertState::kFiring ? events_firing_
                                            : events_resolved_)++;
  }
  unwritten_.insert(unwritten_.end(), changes.begin(), changes.end());
  for (const AlertStatus& s : changes) {
    if (publish_) publish_("alert", AlertJson(s));
    Page(s);
  }
}

void Runtime::Housekeep() {
  const int64_t now = clock_();
  std::vector<AlertStatus> changed;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : current_) {
      std::string by = SilenceFor(s.alert, now);
      if (by == s.silenced_by) continue;
      s.silenced_by = std::move(by);
      changed.push_back(s);
    }
    std::erase_if(silences_, [&](const Silence& s) { return s.ends_at_micros() <= now; });
  }
  for (const AlertStatus& s : changed) {
    if (publish_) publish_("alert", AlertJson(s));
    if (!s.silenced_by.empty()) {
      for (auto& n : notifiers_) n->Withdraw(s.id);
    } else {
      Page(s);
    }
  }
}

std::vector<AlertStatus> Runtime::Current(const AlertFilter& f) const {
  std::vector<AlertStatus> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, s] : current_) {
    const Alert& a = s.alert;
    if (f.state != "active" && f.state != AlertStateName(a.state)) continue;
    if (!f.rule.empty() && a.rule != f.rule) continue;
    if (!f.device.empty() && a.device != f.device) continue;
    if (!f.severity.empty() && a.severity != f.severity) continue;
    if (!f.room.empty()) {
      auto room = a.labels.find("room");
      if (room == a.labels.end() || room->second != f.room) continue;
    }
    out.push_back(s);
  }
  return out;
}

Result<AlertStatus> Runtime::Acknowledge(const std::string& id, std::string by) {
  AlertStatus s;
  {
    std::lock_guard lock(mu_);
    auto it = current_.find(id);
    if (it == current_.end())
      return NotFound(fmt::format("alert \"{}\": no such pending or firing alert", id));
    it->second.acknowledged_by = std::move(by);
    it->second.acknowledged_at_micros = clock_();
    s = it->second;
  }
  if (!Enqueue([this, s] {
        Flush();  // the alert's row first
        if (Status st = store_.SaveAcknowledgement(s); !st.ok()) {
          ++store_errors_;
          Logger("alert")->error("{}", st.message());
        }
        if (publish_) publish_("alert", AlertJson(s));
      }))
    return Unavailable("alert runtime: too much queued; retry");
  return s;
}

Result<Silence> Runtime::AddSilence(Silence silence) {
  std::random_device rd;
  silence.id = fmt::format("{:08x}{:08x}", rd(), rd());
  const int64_t now = clock_();
  {
    std::lock_guard lock(mu_);
    silences_.push_back(silence);
  }
  if (!Enqueue([this, silence, now] {
        if (Status st = store_.SaveSilence(silence, now); !st.ok()) {
          ++store_errors_;
          Logger("alert")->error("{}", st.message());
        }
        Housekeep();
      }))
    return Unavailable("alert runtime: too much queued; retry");
  return silence;
}

Result<Silence> Runtime::ExpireSilence(const std::string& id) {
  const int64_t now = clock_();
  Silence expired;
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(silences_.begin(), silences_.end(), [&](const Silence& s) {
      return s.id == id && s.ends_at_micros() > now;
    });
    if (it == silences_.end())
      return NotFound(fmt::format("silence \"{}\": no such active or pending silence", id));
    it->Expire(now);
    expired = *it;
  }
  if (!Enqueue([this, expired] {
        if (Status st = store_.ExpireSilence(expired); !st.ok()) {
          ++store_errors_;
          Logger("alert")->error("{}", st.message());
        }
        Housekeep();
      }))
    return Unavailable("alert runtime: too much queued; retry");
  return expired;
}

std::vector<Silence> Runtime::Silences() const {
  const int64_t now = clock_();
  std::lock_guard lock(mu_);
  std::vector<Silence> out;
  for (const Silence& s : silences_) {
    if (s.ends_at_micros() > now) out.push_back(s);
  }
  return out;
}

void Runtime::WriteMetrics(Exposition& e) const {
  std::map<std::tuple<std::string, std::string, std::string>, int> count;
  for (const Rule& r : rules_) {
    for (const char* state : {"pending", "firing"}) count[{r.name, r.severity, state}] = 0;
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, s] : current_)
      ++count[{s.alert.rule, s.alert.severity, std::string(AlertStateName(s.alert.state))}];
  }
  for (const auto& [key, n] : count) {
    const auto& [rule, severity, state] = key;
    e.Gauge("dcmon_alerts", "Alerts now, by rule, severity and state",
            {{"alertname", rule}, {"severity", severity}, {"state", state}}, n);
  }
  for (auto [state, v] :
       {std::pair{"pending", &events_pending_}, std::pair{"firing", &events_firing_},
        std::pair{"resolved", &events_resolved_}}) {
    e.Counter("dcmon_alert_events_total", "Alert state changes, by the state entered",
              {{"state", state}}, static_cast<double>(v->load()));
  }
  e.Counter("dcmon_alert_records_total", "Records the alert engine evaluated", {},
            static_cast<double>(records_.load()));
  e.Counter("dcmon_alert_evaluation_seconds_total",
            "Loader-thread time spent evaluating alert rules", {},
            static_cast<double>(evaluation_nanos_.load()) / 1e9);
  e.Counter("dcmon_alert_dropped_events_total",
            "Alert state changes dropped from a full queue (engine or hand-off)", {},
            static_cast<double>(engine_dropped_.load() + handoff_dropped_.load()));
  e.Counter("dcmon_alert_store_errors_total", "Failed writes of alert state to the store", {},
            static_cast<double>(store_errors_.load()));
  std::lock_guard lock(mu_);
  for (const auto& n : notifiers_) {
    const NotifierCounters& c = n->counters();
    const Labels l{{"notifier", n->name()}};
    e.Counter("dcmon_notifications_sent_total", "Notifications the receiver accepted", l,
              static_cast<double>(c.sent.load()));
    e.Counter("dcmon_notifications_failed_total",
              "Notifications given up: refused, or still failing after every retry", l,
              static_cast<double>(c.failed.load()));
    e.Counter("dcmon_notification_retries_total", "Notification attempts after the first", l,
              static_cast<double>(c.retries.load()));
    e.Counter("dcmon_notifications_dropped_total", "Notifications dropped from a full queue", l,
              static_cast<double>(c.dropped.load()));
    e.Gauge("dcmon_notifications_queued", "Notifications waiting for delivery", l,
            static_cast<double>(n->queued()));
  }
}

}  // namespace dcmon::alert
