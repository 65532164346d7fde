#include "api/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <optional>
#include <thread>
#include <vector>

#include "api/beast_request.h"
#include "core/log.h"

namespace dcmon::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  ServerOptions options;
  Handler* handler = nullptr;
  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<int64_t> in_flight{0};  // requests handed to the Handler and not yet written
  std::atomic<bool> stopping{false};
  bool stopped = false;

  void Accept();
};

namespace {

// What a body is received in at a time (Beast reads at most 64 KB per receive).
constexpr size_t kBodyReadBytes = 64 * 1024;

bool IsLoopback(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    return v6.is_loopback() ||
           (v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback());
  }
  return false;
}

std::string LowerCase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// One connection: reads requests one after another (keep-alive), hands each to the Handler, and
// writes its answer on the connection's strand. Owned by its pending operations (shared_ptr).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = peer.address().to_string();
      loopback_ = IsLoopback(peer.address());
    }
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.header_limit));
    parser_->body_limit(server_.options.body_limit);
    stream_.expires_after(server_.options.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    // curl and others wait (a second) for this before sending a large body.
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(server_.options.write_timeout);
      return asio::async_write(stream_, asio::buffer(kContinue),
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    // Beast receives at most the buffer's free capacity (at least 512 bytes) at a time: a 1.3 MB
    // ingest body took about 2,300 receives through the buffer the header left.
    if (!parser_->is_done()) buffer_.reserve(kBodyReadBytes);
    stream_.expires_after(server_.options.body_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return WriteProblem(Problem(
          413, "request body too large",
          fmt::format("the body is over the limit of {} bytes", server_.options.body_limit)));
    }
    if (ec == bhttp::error::header_limit) {
      return WriteProblem(Problem(
          431, "request header too large",
          fmt::format("the header is over the limit of {} bytes", server_.options.header_limit)));
    }
    // A client that closed, timed out (slowloris) or sent something that is not HTTP/1.1: a bad
    // request line gets an answer, the rest just a close.
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::eof) {
      return Close();
    }
    WriteProblem(Problem(400, "malformed HTTP request", ec.message()));
  }

  void WriteProblem(HttpResponse problem) {
    keep_alive_ = false;
    version_ = 11;
    Write(std::move(problem));
  }

  void OnRequest(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    bhttp::request<bhttp::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive() && !server_.stopping.load();
    version_ = req.version();
    HttpRequest r;
    if (!FromBeast(std::move(req), remote_, loopback_, r)) {
      keep_alive_ = false;
      return Write(Problem(400, "malformed request target",
                           "the URL has a bad percent-escape (expected %XX with hex digits)"));
    }
    server_.in_flight.fetch_add(1);
    server_.handler->Handle(std::move(r), [self = shared_from_this()](HttpResponse response) {
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->server_.in_flight.fetch_sub(1);
        self->Write(std::move(response));
      });
    });
  }

  void Write(HttpResponse response) {
    if (response.events) return StartEvents(std::move(response));
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version_);
    res->set(bhttp::field::server, "dcmon");
    res->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(response.body);
    res->prepare_payload();
    stream_.expires_after(server_.options.write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec || !self->keep_alive_) return self->Close();
                         self->ReadHeader();
                       });
  }

  // Server-Sent Events: the header, then whatever the source delivers, until it ends or the
  // client goes away. The body ends with the connection (no length), as the SSE spec allows.
  void StartEvents(HttpResponse response) {
    events_ = std::move(response.events);
    auto head = std::make_shared<std::string>(fmt::format(
        "HTTP/1.1 {} OK\r\nServer: dcmon\r\nContent-Type: {}\r\nCache-Control: no-cache\r\n"
        "Connection: close\r\n",
        response.status, response.content_type));
    for (auto& [name, value] : response.headers) *head += fmt::format("{}: {}\r\n", name, value);
    *head += "\r\n" + response.body;
    WriteEvent(head);
  }

  void WriteEvent(std::shared_ptr<std::string> data) {
    stream_.expires_after(server_.options.write_timeout);
    asio::async_write(stream_, asio::buffer(*data),
                      [self = shared_from_this(), data](beast::error_code ec, size_t) {
                        if (ec) {
                          self->events_->Cancel();
                          return self->Close();
                        }
                        self->NextEvent();
                      });
  }

  void NextEvent() {
    events_->Next([self = shared_from_this()](std::optional<std::string> chunk) {
      asio::post(self->stream_.get_executor(), [self, chunk = std::move(chunk)]() mutable {
        if (!chunk) return self->Close();
        self->WriteEvent(std::make_shared<std::string>(std::move(*chunk)));
      });
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<EventSource> events_;
  std::string remote_;
  bool loopback_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

}  // namespace

bool FromBeast(bhttp::request<bhttp::string_body>&& request, std::string remote_address,
               bool loopback, HttpRequest& out) {
  out.method = std::string(request.method_string());
  const auto target = request.target();
  if (!ParseTarget(std::string_view(target.data(), target.size()), out.path, out.query)) {
    return false;
  }
  for (const auto& field : request) {
    const auto name = field.name_string();
    out.headers.emplace_back(LowerCase(std::string_view(name.data(), name.size())),
                             std::string(field.value()));
  }
  out.body = std::move(request.body());
  out.remote_address = std::move(remote_address);
  out.loopback = loopback;
  return true;
}

void HttpServer::Impl::Accept() {
  acceptor->async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) return;
      // Out of file descriptors and the like: say so, slow down, keep serving.
      Logger("api")->warn("accept: {}", ec.message());
    } else {
      std::make_shared<Session>(std::move(socket), *this)->Start();
    }
    if (!stopping.load()) Accept();
  });
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      Handler& handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = &handler;
  const std::string where = fmt::format("{}:{}", options.host, options.port);
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgument(fmt::format("listen {}: not an IP address", where));
  const tcp::endpoint endpoint(address, options.port);
  tcp::acceptor& acceptor = impl->acceptor.emplace(impl->io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return IoError(fmt::format("listen {}: {}", where, ec.message()));
  impl->Accept();
  const int n = std::max(1, options.io_threads);
  for (int i = 0; i < n; ++i) impl->threads.emplace_back([io = &impl->io] { io->run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor->local_endpoint(ec).port();
}

void HttpServer::Stop(std::chrono::milliseconds drain) {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping.store(true);
  asio::post(impl_->io, [this] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
  });
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->io.stop();
  for (std::thread& t : impl_->threads) t.join();
}

Result<ServerOptions> ServerOptionsFrom(const Config& c) {
  ServerOptions o;
  const std::string listen = c.Get("api.listen").value_or(fmt::format("{}:{}", o.host, o.port));
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument(fmt::format("api.listen: expected HOST:PORT, got \"{}\"", listen));
  }
  std::string_view host = std::string_view(listen).substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string_view port = std::string_view(listen).substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535) {
    return InvalidArgument(
        fmt::format("api.listen: expected a port from 0 to 65535, got \"{}\"", port));
  }
  o.host = host.empty() ? "0.0.0.0" : std::string(host);
  o.port = static_cast<uint16_t>(p);
  Result<int64_t> io = c.GetInt("api.io_threads", o.io_threads, 1, 64);
  if (!io.ok()) return io.status();
  o.io_threads = static_cast<int>(*io);
  return o;
}

}  // namespace dcmon::api
