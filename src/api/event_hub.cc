#include "api/event_hub.h"

#include <fmt/format.h>

#include <algorithm>

namespace dcmon::api {

class EventHub::Subscriber final : public EventSource {
 public:
  explicit Subscriber(size_t max_queued) : max_queued_(max_queued) {}

  void Next(std::function<void(std::optional<std::string>)> deliver) override {
    std::unique_lock lock(mu_);
    if (!queued_.empty()) {
      std::string chunk = std::move(queued_);
      queued_.clear();
      lock.unlock();
      return deliver(std::move(chunk));
    }
    if (ended_) {
      lock.unlock();
      return deliver(std::nullopt);
    }
    waiting_ = std::move(deliver);
  }

  void Cancel() override { End(); }

  // False when the subscriber has fallen too far behind (it is ended).
  bool Push(const std::string& chunk) {
    std::unique_lock lock(mu_);
    if (ended_) return true;
    if (waiting_) {
      auto deliver = std::move(waiting_);
      waiting_ = nullptr;
      lock.unlock();
      deliver(chunk);
      return true;
    }
    if (queued_.size() + chunk.size() > max_queued_) {
      lock.unlock();
      End();
      return false;
    }
    queued_ += chunk;
    return true;
  }

  void End() {
    std::unique_lock lock(mu_);
    ended_ = true;
    queued_.clear();
    if (waiting_) {
      auto deliver = std::move(waiting_);
      waiting_ = nullptr;
      lock.unlock();
      deliver(std::nullopt);
    }
  }

  bool ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

 private:
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::string queued_;
  std::function<void(std::optional<std::string>)> waiting_;
  bool ended_ = false;
};

std::shared_ptr<EventSource> EventHub::Subscribe() {
  auto s = std::make_shared<Subscriber>(max_queued_);
  std::lock_guard lock(mu_);
  if (closed_) {
    s->End();
  } else {
    subscribers_.push_back(s);
  }
  return s;
}

void EventHub::Publish(std::string_view event, std::string_view data) {
  Broadcast(fmt::format("event: {}\ndata: {}\n\n", event, data));
}

void EventHub::Heartbeat() { Broadcast(": keep-alive\n\n"); }

void EventHub::Broadcast(const std::string& chunk) {
  std::vector<std::shared_ptr<Subscriber>> live;
  {
    std::lock_guard lock(mu_);
    std::erase_if(subscribers_, [&](const std::weak_ptr<Subscriber>& w) {
      auto s = w.lock();
      if (!s || s->ended()) return true;
      live.push_back(std::move(s));
      return false;
    });
  }
  int64_t dropped = 0;
  for (auto& s : live) {
    if (!s->Push(chunk)) ++dropped;
  }
  if (dropped) {
    std::lock_guard lock(mu_);
    dropped_ += dropped;
  }
}

void EventHub::Close() {
  std::vector<std::shared_ptr<Subscriber>> live;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& w : subscribers_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    subscribers_.clear();
  }
  for (auto& s : live) s->End();
}

size_t EventHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

int64_t EventHub::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace dcmon::api
