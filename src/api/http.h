// The HTTP request and response as dcmon's handlers see them: plain structs, no Boost in sight, so
// route code compiles fast and is tested without sockets. server.cc converts from and to Beast.
// Errors are RFC 9457 problem documents (application/problem+json) that say what is wrong.
//
//   HttpResponse r = Problem(400, "invalid query parameter", "limit: expected 1..10000, got
//   \"x\""); std::optional<std::string_view> device = req.Param("device");
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dcmon::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query string
  std::vector<std::pair<std::string, std::string>> query;    // decoded parameters, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;  // "127.0.0.1"
  bool loopback = false;       // the peer is 127.0.0.0/8 or ::1

  // The first value of a query parameter.
  std::optional<std::string_view> Param(std::string_view name) const;
  // The first value of a header (name in lower case).
  std::optional<std::string_view> Header(std::string_view name) const;
};

// A stream of Server-Sent Events after the response header. The server asks for more with Next();
// the stream calls `deliver` once (from any thread) with the next bytes, or with nullopt when it is
// over (the client was too slow, or the server is stopping).
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual void Next(std::function<void(std::optional<std::string>)> deliver) = 0;
  virtual void Cancel() = 0;  // the client went away
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, ...)
  std::shared_ptr<EventSource> events;  // set: an event stream follows the header
};

// Handlers answer through a Respond, exactly once, from any thread.
using Respond = std::function<void(HttpResponse)>;

HttpResponse Json(std::string body, int status = 200);
// An RFC 9457 problem document: {"type":"about:blank","title":…,"status":…,"detail":…}.
HttpResponse Problem(int status, std::string_view title, std::string_view detail);
// A 503 problem with Retry-After: the request was fine, the server cannot take it now.
HttpResponse Unavailable(std::string_view title, std::string_view detail, int retry_after_s = 5);
// The one mapping from an error Status to its HTTP answer, used by every route: the HTTP status
// by the Status code (400 invalid argument, 401, 403, 404, 409 aborted / failed precondition, 503
// with Retry-After for unavailable, resource exhausted and deadline exceeded, 500 otherwise), the
// title by the code unless given, the message as the detail.
HttpResponse ProblemFrom(const Status& status, std::string_view title = {});

// Inflates a gzip body (Content-Encoding: gzip, as Telegraf sends by default), refusing to grow
// past `max_bytes` (a zip bomb is an error, not an allocation).
Result<std::string> Gunzip(std::string_view compressed, size_t max_bytes);

// Splits "/a/b?x=1&y=%20" into a decoded path and parameters. False on a malformed escape.
bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query);

}  // namespace dcmon::api
