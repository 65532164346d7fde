#include "api/worker_pool.h"

namespace dcmon::api {
namespace {

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<WorkerPool>> WorkerPool::Start(store::Database& db,
                                                      WorkerPoolOptions options) {
  std::unique_ptr<WorkerPool> pool(new WorkerPool());
  pool->options_ = options;
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    auto w = std::make_unique<Worker>();
    Result<std::unique_ptr<store::Connection>> conn = db.Connect();
    if (!conn.ok()) return conn.status().WithPrefix("api: worker connection: ");
    w->conn = std::move(*conn);
    pool->workers_.push_back(std::move(w));
  }
  for (auto& w : pool->workers_)
    w->thread = std::thread([p = pool.get(), w = w.get()] { p->Run(*w); });
  pool->watchdog_ = std::thread([p = pool.get()] { p->Watch(); });
  return pool;
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::Submit(Task task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || tasks_.size() >= options_.queue) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

void WorkerPool::Run(Worker& w) {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and every queued task has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    w.deadline_ns.store(
        SteadyNanos() +
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.timeout).count());
    task(*w.conn);
    w.deadline_ns.store(0);
  }
}

void WorkerPool::Watch() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(50));
    const int64_t now = SteadyNanos();
    for (auto& w : workers_) {
      const int64_t d = w->deadline_ns.load();
      if (d != 0 && now > d) duckdb_interrupt(w->conn->raw());
    }
  }
}

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  watch_cv_.notify_all();
  // A pool whose Start() failed part-way has threads that never started.
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  if (watchdog_.joinable()) watchdog_.join();
}

}  // namespace dcmon::api
