// Notifiers: where alerts go once they fire. Two kinds behind one class (they differ only in the
// payload and in re-sending):
// - alertmanager: Prometheus Alertmanager API v2, `POST {url}/api/v2/alerts` with
//   [{labels, annotations, startsAt, endsAt, generatorURL}]. While an alert fires it is re-sent
//   every `resend_interval_s` with endsAt = now + 4 × resend_interval (as Prometheus does), so
//   Alertmanager keeps it active but lets it lapse if dcmon goes away; a resolve is sent once,
//   with endsAt = the time it resolved.
// - webhook: a generic JSON receiver, one `POST {url}` per change,
//   {"status": "firing"|"resolved", "alert": <Alert JSON as GET /api/v1/alerts gives it>}.
// Each notifier has its own thread and a bounded queue: Send() never blocks. A delivery is retried
// with exponential back-off; one that keeps failing is given up and counted (`failed`); a full
// queue drops its oldest delivery (`dropped`). Thread-safe.
//
//   auto n = *Notifier::Start({.name = "alertmanager", .kind = NotifierKind::kAlertmanager,
//                              .url = "http://127.0.0.1:9093"}, post, NowMicros);
//   n->Send(status);   // firing or resolved
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "alert/alert_json.h"
#include "core/status.h"

namespace dcmon::alert {

enum class NotifierKind { kAlertmanager, kWebhook };

struct NotifierOptions {
  std::string name;  // the `notifier` label in /metrics: "alertmanager", "webhook"
  NotifierKind kind = NotifierKind::kWebhook;
  std::string url;  // alertmanager: its base URL, http://host:9093; webhook: the URL posted to
  // alertmanager: firing alerts are sent again this often (Alertmanager resolves what it stops
  // hearing about after endsAt).
  int64_t resend_interval_s = 60;
  int max_attempts = 6;                            // tries per delivery before it counts failed
  std::chrono::milliseconds initial_backoff{500};  // wait before the first retry; doubles after
  std::chrono::milliseconds max_backoff{30'000};   // the longest wait between retries
  size_t max_queue = 1000;    // deliveries waiting; when full the oldest is dropped and counted
  std::string generator_url;  // alertmanager: generatorURL's base (dcmon's URL)

  Status Validate() const;
};

// Posts a JSON body to a URL and gives the HTTP status, or the transport error (serve binds
// api::HttpCall; tests bind a fake).
using HttpPost = std::function<Result<int>(const std::string& url, const std::string& body)>;

struct NotifierCounters {
  std::atomic<int64_t> sent{0};     // deliveries the receiver accepted (2xx)
  std::atomic<int64_t> failed{0};   // deliveries given up: refused (4xx) or out of attempts
  std::atomic<int64_t> retries{0};  // attempts after the first
  std::atomic<int64_t> dropped{0};  // deliveries dropped from a full queue
};

class Notifier {
 public:
  // `clock`: wall time in microseconds, for endsAt.
  static Result<std::unique_ptr<Notifier>> Start(NotifierOptions options, HttpPost post,
                                                 std::function<int64_t()> clock);
  ~Notifier();

  // An alert entered firing (to page) or resolved (sent only if it was paged). Pending is not
  // sent.
  void Send(const AlertStatus& status);
  // The alert stopped being paged without resolving (a silence began): no more re-sends, and no
  // resolve later; Alertmanager lets it lapse at its endsAt.
  void Withdraw(const std::string& id);
  // Finishes the delivery in flight (no more retries) and stops the thread.
  void Stop();

  const std::string& name() const { return options_.name; }
  const NotifierCounters& counters() const { return counters_; }
  size_t queued() const;

 private:
  Notifier(NotifierOptions options, HttpPost post, std::function<int64_t()> clock);
  void Run();
  void Enqueue(std::string body);
  void Deliver(const std::string& body);
  std::string AlertmanagerBody(const std::vector<const AlertStatus*>& alerts) const;
  std::string Target() const;

  const NotifierOptions options_;
  const HttpPost post_;
  const std::function<int64_t()> clock_;
  NotifierCounters counters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  // Paged and not resolved yet: a resolve is sent only for these; alertmanager re-sends them.
  std::map<std::string, AlertStatus> firing_;
  std::chrono::steady_clock::time_point next_resend_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dcmon::alert
