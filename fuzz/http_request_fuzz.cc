// libFuzzer target: the HTTP request path without a socket. The input is the bytes a client sends;
// they go through Beast's request parser with the server's default header and body limits
// (ServerOptions), become an HttpRequest by the server's own conversion (api/beast_request.h), and
// are handled by the real Api: per-address and per-token rate limits, token auth with scopes,
// routing, gzip bodies and each route's parameter and body parsing, over an in-memory store with
// the schema and the same lockdown `serve` applies to analysts' SQL. HTTP ingest has no producer,
// so it answers 503 after validating its input. Checks that every request gets exactly one answer
// with a status in 200..599 and, for an error, a problem document.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>

#include "analytics/live_state.h"
#include "api/api.h"
#include "api/auth.h"
#include "api/beast_request.h"
#include "api/event_hub.h"
#include "api/server.h"
#include "api/worker_pool.h"
#include "core/status.h"
#include "store/duckdb.h"
#include "store/writer.h"

namespace dcmon::fuzz {
namespace {

// Built once and never destroyed: libFuzzer exits without unwinding, and the Api's threads live as
// long as the process.
struct Harness {
  Harness() {
    db = std::move(*store::Database::Open({.path = ":memory:", .memory_limit = "256MB"}));
    writer = std::move(*store::Writer::Create(*db));
    // Connections first: once the configuration is locked, Connect()'s own SET TimeZone fails
    // (serve opens its pools before locking too).
    reads = std::move(*api::WorkerPool::Start(*db, {}));
    auto admin = *db->Connect();
    CHECK(admin->Execute("SET enable_external_access = false").ok() &&
              admin->Execute("SET lock_configuration = true").ok(),
          "the store locks down as serve's does");
    tokens.Add("reader", "read-token", api::kScopeRead);
    tokens.Add("writer", "write-token", api::kScopeWrite);
    tokens.Add("analyst", "query-token", api::kScopeQuery | api::kScopeRead);
    tokens.Add("admin", "admin-token", api::kScopeAll);
    handler = std::make_unique<api::Api>(
        api::ApiOptions{},
        api::ApiParts{.reads = reads.get(), .live = &live, .events = &events, .tokens = &tokens});
  }

  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::Writer> writer;
  std::unique_ptr<api::WorkerPool> reads;
  analytics::LiveState live{{}};
  api::EventHub events;
  api::TokenStore tokens;
  std::unique_ptr<api::Api> handler;
};

}  // namespace
}  // namespace dcmon::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  static dcmon::fuzz::Harness* harness = new dcmon::fuzz::Harness();
  static const dcmon::api::ServerOptions kServer;

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(kServer.header_limit));
  parser.body_limit(kServer.body_limit);
  parser.eager(true);
  boost::asio::const_buffer input(data, size);
  boost::beast::error_code ec;
  while (input.size() > 0 && !parser.is_done()) {
    const size_t used = parser.put(input, ec);
    if (ec == bhttp::error::need_more) break;
    if (ec) return 0;  // the server answers 400/413/431 and closes; nothing reaches the handler
    input += used;
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  dcmon::api::HttpRequest request;
  if (!dcmon::api::FromBeast(parser.release(), "10.0.0.1", false, request)) return 0;

  // Shared: an answer that came twice, or late, must find the promise alive (and then throws
  // future_already_satisfied, which libFuzzer reports).
  auto answered = std::make_shared<std::promise<dcmon::api::HttpResponse>>();
  std::future<dcmon::api::HttpResponse> answer = answered->get_future();
  harness->handler->Handle(std::move(request), [answered](dcmon::api::HttpResponse r) {
    answered->set_value(std::move(r));
  });
  dcmon::api::HttpResponse response = answer.get();
  CHECK(response.status >= 200 && response.status <= 599, "a status in 200..599");
  if (response.status >= 400) {
    CHECK(response.content_type == "application/problem+json", "errors are problem documents");
  }
  if (response.events) response.events->Cancel();
  return 0;
}
