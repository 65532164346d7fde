#include "alert/notify.h"

#include <fmt/format.h>

#include "core/log.h"

namespace dcmon::alert {

Status NotifierOptions::Validate() const {
  const std::string prefix = fmt::format("alert.{}.", name);
  if (!url.starts_with("http://"))
    return InvalidArgument(fmt::format(
        "{}url: expected an http:// URL, got \"{}\" (put TLS in a proxy)", prefix, url));
  if (resend_interval_s < 1 || resend_interval_s > 86400)
    return InvalidArgument(
        fmt::format("{}resend_interval_s: {} is out of range 1..86400", prefix, resend_interval_s));
  if (max_attempts < 1 || max_attempts > 100)
    return InvalidArgument(
        fmt::format("{}max_attempts: {} is out of range 1..100", prefix, max_attempts));
  if (initial_backoff.count() < 1 || max_backoff < initial_backoff)
    return InvalidArgument(fmt::format("{}backoff: expected 1 ms <= initial <= max", prefix));
  if (max_queue < 1) return InvalidArgument(fmt::format("{}max_queue: must be at least 1", prefix));
  return Status::Ok();
}

Result<std::unique_ptr<Notifier>> Notifier::Start(NotifierOptions options, HttpPost post,
                                                  std::function<int64_t()> clock) {
  if (Status s = options.Validate(); !s.ok()) return s;
  if (!post || !clock) return InvalidArgument("notifier: post and clock must be set");
  std::unique_ptr<Notifier> n(new Notifier(std::move(options), std::move(post), std::move(clock)));
  n->thread_ = std::thread([p = n.get()] { p->Run(); });
  return n;
}

Notifier::Notifier(NotifierOptions options, HttpPost post, std::function<int64_t()> clock)
    : options_(std::move(options)), post_(std::move(post)), clock_(std::move(clock)) {
  next_resend_ =
      std::chrono::steady_clock::now() + std::chrono::seconds(options_.resend_interval_s);
}

Notifier::~Notifier() { Stop(); }

void Notifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t Notifier::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::string Notifier::Target() const {
  return options_.kind == NotifierKind::kAlertmanager ? options_.url + "/api/v2/alerts"
                                                      : options_.url;
}

void Notifier::Send(const AlertStatus& status) {
  const AlertState state = status.alert.state;
  if (state == AlertState::kPending) return;
  std::string body;
  {
    std::lock_guard lock(mu_);
    if (state == AlertState::kFiring) {
      firing_[status.id] = status;
    } else if (firing_.erase(status.id) == 0) {
      return;  // never paged (inhibited or silenced, or withdrawn since): nothing to resolve
    }
    if (options_.kind == NotifierKind::kAlertmanager) {
      body = AlertmanagerBody({&status});
    } else {
      JsonWriter w(body);
      w.BeginObject();
      w.Key("status");
      w.String(AlertStateName(state));
      w.Key("alert");
      WriteAlertJson(status, w);
      w.EndObject();
    }
  }
  Enqueue(std::move(body));
}

void Notifier::Withdraw(const std::string& id) {
  std::lock_guard lock(mu_);
  firing_.erase(id);
}

// Called with mu_ held (the alerts may point into firing_).
std::string Notifier::AlertmanagerBody(const std::vector<const AlertStatus*>& alerts) const {
  const int64_t now = clock_();
  auto map = [](const std::map<std::string, std::string>& m, JsonWriter& w) {
    w.BeginObject();
    for (const auto& [k, v] : m) {
      w.DynamicKey(k);
      w.String(v);
    }
    w.EndObject();
  };
  std::string body;
  {
    JsonWriter w(body);
    w.BeginArray();
    for (const AlertStatus* s : alerts) {
      const Alert& a = s->alert;
      w.BeginObject();
      w.Key("labels");
      map(a.labels, w);
      w.Key("annotations");
      map(a.annotations, w);
      w.Key("startsAt");
      w.Timestamp(a.starts_at_micros);
      w.Key("endsAt");
      // Firing: valid for four re-send intervals (from now, or from its start when event time
      // runs ahead of the wall clock), so one missed re-send does not flap it in Alertmanager.
      w.Timestamp(a.state == AlertState::kResolved
                      ? std::max(a.ends_at_micros, a.starts_at_micros)
                      : std::max(now, a.starts_at_micros) +
                            4 * options_.resend_interval_s * 1'000'000);
      w.Key("generatorURL");
      w.String(fmt::format("{}/api/v1/alerts?rule={}", options_.generator_url, a.rule));
      w.EndObject();
    }
    w.EndArray();
  }
  return body;
}

void Notifier::Enqueue(std::string body) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queue) {
      queue_.pop_front();
      ++counters_.dropped;
    }
    queue_.push_back(std::move(body));
  }
  cv_.notify_all();
}

void Notifier::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_until(lock, next_resend_, [&] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    if (queue_.empty()) {  // time to re-send what is firing (Alertmanager expects it)
      next_resend_ =
          std::chrono::steady_clock::now() + std::chrono::seconds(options_.resend_interval_s);
      if (firing_.empty() || options_.kind != NotifierKind::kAlertmanager) continue;
      std::vector<const AlertStatus*> all;
      for (const auto& [id, s] : firing_) all.push_back(&s);
      queue_.push_back(AlertmanagerBody(all));
    }
    std::string body = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Deliver(body);
    lock.lock();
  }
}

void Notifier::Deliver(const std::string& body) {
  auto log = Logger("alert");
  const std::string target = Target();
  auto backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    Result<int> r = post_(target, body);
    if (r.ok() && *r >= 200 && *r < 300) {
      ++counters_.sent;
      return;
    }
    const std::string why = r.ok() ? fmt::format("HTTP {}", *r) : r.status().message();
    // A refusal will not change on retry (a malformed alert, a wrong path); overload might.
    const bool permanent = r.ok() && *r >= 400 && *r < 500 && *r != 408 && *r != 429;
    if (permanent || attempt >= options_.max_attempts) {
      ++counters_.failed;
      log->warn("notifier {}: gave up a delivery to {} after {} attempt(s): {}", options_.name,
                target, attempt, why);
      return;
    }
    ++counters_.retries;
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, backoff, [&] { return stop_; })) {
      ++counters_.failed;
      return;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace dcmon::alert
