// Fan-out of Server-Sent Events to the clients of GET /api/v1/stream. Publish() formats one event
// and queues it for every subscriber; each subscriber's queue is bounded in bytes, and a client
// that falls that far behind is dropped (its stream ends; EventSource reconnects) rather than
// holding memory. Close() ends every stream. Thread-safe.
//
//   EventHub hub;
//   HttpResponse r; r.content_type = "text/event-stream"; r.events = hub.Subscribe();
//   hub.Publish("summary", summary_json);
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"

namespace dcmon::api {

class EventHub {
 public:
  explicit EventHub(size_t max_queued_bytes = 4 << 20) : max_queued_(max_queued_bytes) {}
  ~EventHub() { Close(); }

  std::shared_ptr<EventSource> Subscribe();
  // `data` must be one line (JSON is); event names are [a-z_]+.
  void Publish(std::string_view event, std::string_view data);
  // A comment line that keeps idle connections open through proxies and finds dead clients.
  void Heartbeat();
  void Close();
  size_t subscribers() const;
  int64_t dropped() const;  // subscribers cut off for being too slow

 private:
  class Subscriber;
  void Broadcast(const std::string& chunk);

  const size_t max_queued_;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Subscriber>> subscribers_;
  int64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace dcmon::api
