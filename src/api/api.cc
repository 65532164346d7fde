#include "api/api.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "api/routes.h"
#include "core/log.h"

namespace dcmon::api {
namespace {

// A gzip body may inflate to this much; beyond, the request is refused.
constexpr size_t kMaxInflatedBody = 256 << 20;

std::string Base64Decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return {};
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The token a client presented: "Authorization: Bearer T" (and "Token T", as InfluxDB clients
// send), HTTP Basic with the token as password (InfluxDB 1.x clients), or ?access_token= (for
// EventSource, which cannot set headers) and ?p= (InfluxDB 1.x /write).
std::optional<std::string> PresentedToken(const HttpRequest& req) {
  if (auto h = req.Header("authorization")) {
    for (std::string_view scheme : {"Bearer ", "Token "}) {
      if (h->size() > scheme.size() &&
          std::equal(scheme.begin(), scheme.end(), h->begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return std::string(h->substr(scheme.size()));
      }
    }
    if (h->starts_with("Basic ")) {
      const std::string userpass = Base64Decode(h->substr(6));
      const size_t colon = userpass.find(':');
      if (colon != std::string::npos) return userpass.substr(colon + 1);
    }
    return std::string(*h);  // an unknown scheme: will not match any token
  }
  if (auto t = req.Param("access_token")) return std::string(*t);
  if (auto p = req.Param("p")) return std::string(*p);
  return std::nullopt;
}

HttpResponse Unauthorized(std::string_view detail) {
  HttpResponse r = Problem(401, "authentication required", detail);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"dcmon\"");
  return r;
}

HttpResponse TooMany(double wait_seconds, std::string_view who) {
  const int64_t after = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_seconds)));
  HttpResponse r =
      Problem(429, "rate limit exceeded",
              fmt::format("too many requests from this {}; retry in {} s", who, after));
  r.headers.emplace_back("Retry-After", std::to_string(after));
  return r;
}

}  // namespace

std::optional<std::string_view> PathParam(std::string_view pattern, std::string_view path) {
  const size_t open = pattern.find('{');
  if (open == std::string_view::npos) {
    return pattern == path ? std::optional<std::string_view>(std::string_view()) : std::nullopt;
  }
  const std::string_view prefix = pattern.substr(0, open);
  const std::string_view suffix = pattern.substr(pattern.find('}', open) + 1);
  if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix) ||
      !path.ends_with(suffix))
    return std::nullopt;
  return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

Status ApiOptions::Validate() const {
  if (page_limit < 1 || page_limit > max_page_limit)
    return InvalidArgument("api.page_limit: expected 1 .. api.max_page_limit");
  if (max_page_limit < 1 || max_page_limit > 100000)
    return InvalidArgument("api.max_page_limit: expected 1 .. 100000");
  if (query_row_cap < 1 || query_row_cap > 1000000)
    return InvalidArgument("api.query_row_cap: expected 1 .. 1000000");
  return Status::Ok();
}

Result<ApiOptions> ApiOptionsFrom(const Config& c) {
  ApiOptions o;
  Result<bool> open = c.GetBool("api.open_reads_on_loopback", o.open_reads_on_loopback);
  Result<double> per_token = c.GetDouble("api.rate_limit_per_token", o.per_token.rate, 0, 1e9);
  Result<double> per_address =
      c.GetDouble("api.rate_limit_per_address", o.per_address.rate, 0, 1e9);
  Result<int64_t> page = c.GetInt("api.page_limit", o.page_limit, 1, 100000);
  Result<int64_t> max_page = c.GetInt("api.max_page_limit", o.max_page_limit, 1, 100000);
  Result<int64_t> cap =
      c.GetInt("api.query_row_cap", static_cast<int64_t>(o.query_row_cap), 1, 1000000);
  Result<int64_t> reads = c.GetInt("api.read_threads", o.read_threads, 1, 64);
  Result<int64_t> ingest = c.GetInt("api.ingest_threads", o.ingest_threads, 1, 64);
  Result<int64_t> timeout = c.GetInt("api.query_timeout_s", o.query_timeout.count(), 1, 3600);
  for (const Status* s :
       {&open.status(), &per_token.status(), &per_address.status(), &page.status(),
        &max_page.status(), &cap.status(), &reads.status(), &ingest.status(), &timeout.status()}) {
    if (!s->ok()) return *s;
  }
  o.read_threads = static_cast<int>(*reads);
  o.ingest_threads = static_cast<int>(*ingest);
  o.query_timeout = std::chrono::seconds(*timeout);
  o.open_reads_on_loopback = *open;
  o.per_token.rate = *per_token;
  o.per_address.rate = *per_address;
  o.page_limit = static_cast<int>(*page);
  o.max_page_limit = static_cast<int>(*max_page);
  o.query_row_cap = static_cast<size_t>(*cap);
  if (Status s = o.Validate(); !s.ok()) return s;
  return o;
}

// Latency buckets in seconds: sub-millisecond answers from live state up to slow queries.
Api::Api(ApiOptions options, ApiParts parts)
    : ctx_(std::make_unique<Context>()),
      routes_(Routes()),
      per_token_(options.per_token),
      per_address_(options.per_address),
      latency_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}) {
  ctx_->options = std::move(options);
  ctx_->parts = std::move(parts);
  ctx_->api = this;
}

Api::~Api() = default;

bool Api::Authorize(const HttpRequest& req, const Route& route, const Respond& respond) {
  if (route.scope == 0) return true;
  const std::optional<std::string> presented = PresentedToken(req);
  if (!presented) {
    if (route.scope == kScopeRead && req.loopback && ctx_->options.open_reads_on_loopback)
      return true;
    respond(Unauthorized(fmt::format(
        "this endpoint needs a token with the \"{}\" scope: send Authorization: Bearer <token>",
        ScopeName(route.scope))));
    return false;
  }
  const Token* token = ctx_->parts.tokens ? ctx_->parts.tokens->Find(*presented) : nullptr;
  if (!token) {
    respond(Unauthorized("the token is not known to this server"));
    return false;
  }
  if (!(token->scopes & route.scope)) {
    respond(Problem(403, "insufficient scope",
                    fmt::format("token \"{}\" lacks the \"{}\" scope this endpoint needs",
                                token->name, ScopeName(route.scope))));
    return false;
  }
  if (auto wait = per_token_.Take(token->name, RateLimiter::Clock::now())) {
    respond(TooMany(*wait, "token"));
    return false;
  }
  return true;
}

void Api::Handle(HttpRequest req, Respond respond) {
  const auto start = std::chrono::steady_clock::now();
  const Route* route = nullptr;
  bool path_known = false;
  for (const Route& r : routes_) {
    if (!PathParam(r.path, req.path)) continue;
    path_known = true;
    // An exact path wins over a pattern that also fits ("/api/v1/alerts/events").
    if (r.method == req.method && (!route || r.path == req.path)) route = &r;
  }
  const std::string_view name = route ? route->path : std::string_view("other");
  Respond counted = [this, name, start, respond = std::move(respond)](HttpResponse r) {
    Count(name, r.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    respond(std::move(r));
  };
  if (auto wait = per_address_.Take(req.remote_address, start)) {
    return counted(TooMany(*wait, "address"));
  }
  if (!route) {
    if (path_known) {
      HttpResponse r = Problem(405, "method not allowed",
                               fmt::format("{} does not take {}", req.path, req.method));
      std::string allow;
      for (const Route& x : routes_) {
        if (PathParam(x.path, req.path))
          allow += (allow.empty() ? "" : ", ") + std::string(x.method);
      }
      r.headers.emplace_back("Allow", allow);
      return counted(std::move(r));
    }
    return counted(
        Problem(404, "not found", fmt::format("no endpoint {}; see /openapi.json", req.path)));
  }
  if (!Authorize(req, *route, counted)) return;
  if (auto encoding = req.Header("content-encoding"); encoding && *encoding != "identity") {
    if (*encoding != "gzip") {
      return counted(
          Problem(415, "unsupported content encoding",
                  fmt::format("Content-Encoding \"{}\": send gzip or identity", *encoding)));
    }
    Result<std::string> body = Gunzip(req.body, kMaxInflatedBody);
    if (!body.ok()) return counted(Problem(400, "malformed request body", body.status().message()));
    req.body = std::move(*body);
  }
  route->handle(*ctx_, req, counted);
}

void Api::Count(std::string_view route, int status, double seconds) {
  latency_.Observe(seconds);
  std::lock_guard lock(count_mu_);
  ++requests_[{std::string(route), status}];
}

void Api::WriteMetrics(Exposition& e) {
  {
    std::lock_guard lock(count_mu_);
    for (const auto& [key, n] : requests_) {
      e.Counter("dcmon_http_requests_total", "HTTP requests answered, by route and status",
                {{"route", key.first}, {"status", std::to_string(key.second)}},
                static_cast<double>(n));
    }
  }
  e.Histogram("dcmon_http_request_duration_seconds",
              "Time from a request's arrival to its answer being handed to the connection", {},
              latency_);
  if (ctx_->parts.events) {
    e.Gauge("dcmon_stream_clients", "Clients of /api/v1/stream", {},
            static_cast<double>(ctx_->parts.events->subscribers()));
    e.Counter("dcmon_stream_dropped_total", "Stream clients cut off for falling behind", {},
              static_cast<double>(ctx_->parts.events->dropped()));
  }
  for (auto [name, pool] : {std::pair{"read", ctx_->parts.reads}, {"write", ctx_->parts.writes}}) {
    if (pool) {
      e.Gauge("dcmon_api_queue_tasks", "Requests waiting for a worker", {{"pool", name}},
              static_cast<double>(pool->queued()));
    }
  }
}

}  // namespace dcmon::api
