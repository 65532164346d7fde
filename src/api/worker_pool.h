// Where the API does work that may block: a few worker threads, each with its own DuckDB
// connection to the store the loader writes, so queries (and ingest, which may wait on Kafka)
// never run on an I/O thread and never wait for one another's connection. The queue is bounded:
// when it is full Submit() says no and the caller answers 503 instead of piling up memory. A query
// running past the timeout is interrupted (DuckDB's own interrupt) and fails with
// kDeadlineExceeded. Thread-safe; Stop() joins the workers.
//
//   auto pool = WorkerPool::Start(db, {.threads = 2});
//   bool queued = (*pool)->Submit([](store::Connection& c) { auto r = c.Query("SELECT 1"); });
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::api {

struct WorkerPoolOptions {
  int threads = 2;                           // connections, and queries that run at once
  size_t queue = 256;                        // tasks waiting; more: Submit() refuses
  std::chrono::milliseconds timeout{10000};  // a task's query is interrupted after this long
};

class WorkerPool {
 public:
  using Task = std::function<void(store::Connection&)>;
  static Result<std::unique_ptr<WorkerPool>> Start(store::Database& db, WorkerPoolOptions options);
  ~WorkerPool();

  bool Submit(Task task);
  void Stop();
  size_t queued() const;

 private:
  struct Worker {
    std::unique_ptr<store::Connection> conn;
    std::atomic<int64_t> deadline_ns{0};  // steady-clock deadline of the running task; 0 idle
    std::thread thread;
  };
  WorkerPool() = default;
  void Run(Worker& w);
  void Watch();

  WorkerPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // workers wait for tasks
  std::condition_variable watch_cv_;  // the watchdog waits for its tick or Stop()
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread watchdog_;
};

}  // namespace dcmon::api
