// The HTTP/1.1 server: Boost.Beast on a small pool of I/O threads. It reads requests within size
// and time limits (so a slow or oversize client costs a timer, not a thread), hands each to a
// Handler as a plain HttpRequest, and writes the answer whenever the Handler responds, from
// whatever thread. Keep-alive, Server-Sent Events, and a graceful Stop(): no new connections, the
// requests in flight finish, then the threads stop. The server only moves bytes: routing, auth and
// queries are the Handler's (api.h). Thread-safe; Stop() before destroying the Handler.
//
//   auto server = HttpServer::Start({.host = "127.0.0.1", .port = 8080}, handler);
//   ... (*server)->port() ...
//   (*server)->Stop(std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/http.h"
#include "core/config.h"
#include "core/status.h"

namespace dcmon::api {

struct ServerOptions {
  std::string host = "127.0.0.1";  // address to listen on ("0.0.0.0" for every interface)
  uint16_t port = 8080;            // 0: any free port (tests)
  int io_threads = 2;              // threads that parse and write HTTP; never block on a query
  size_t body_limit = 32 << 20;    // bytes of a request body: more is 413
  size_t header_limit = 16 << 10;  // bytes of a request header: more is 431
  std::chrono::seconds header_timeout{15};  // for a request's header to arrive (slowloris; idle)
  std::chrono::seconds body_timeout{60};    // for its body to arrive
  std::chrono::seconds write_timeout{30};   // for a response (or one event) to be taken
};
// api.listen ("HOST:PORT", "[::1]:PORT" or ":PORT" for every interface; default 127.0.0.1:8080)
// and api.io_threads.
Result<ServerOptions> ServerOptionsFrom(const Config& config);

class Handler {
 public:
  virtual ~Handler() = default;
  // Calls `respond` exactly once, now or later, from any thread.
  virtual void Handle(HttpRequest request, Respond respond) = 0;
};

class HttpServer {
 public:
  // Binds and starts serving. Errors name the address ("127.0.0.1:8080: Address already in use").
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, Handler& handler);
  ~HttpServer();

  uint16_t port() const;
  // Stops accepting, waits up to `drain` for the requests in flight, then stops the I/O threads.
  void Stop(std::chrono::milliseconds drain);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcmon::api
