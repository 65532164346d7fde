#include "api/client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace dcmon::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

// Writes `req` and reads the answer on a connected stream (plain or TLS).
template <class Stream>
HttpResponse Exchange(Stream& stream, bhttp::request<bhttp::string_body>& req) {
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1ull << 30);
  bhttp::read(stream, buffer, parser);
  auto res = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  for (const auto& f : res) {
    const auto name = f.name_string();
    out.headers.emplace_back(std::string(name.data(), name.size()), std::string(f.value()));
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

Result<HttpResponse> HttpCall(std::string_view method, std::string_view url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view body, std::chrono::seconds timeout,
                              std::string_view ca_file) {
  const bool tls = url.starts_with("https://");
  if (!tls && !url.starts_with("http://")) {
    return InvalidArgument(fmt::format("{}: expected an http:// or https:// URL", url));
  }
  std::string_view rest = url.substr(tls ? 8 : 7);
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string target(slash == std::string_view::npos ? "/" : rest.substr(slash));
  std::string host(authority), port = tls ? "443" : "80";
  if (const size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    port = std::string(authority.substr(colon + 1));
  }
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(std::string(method)), target, 11);
  req.set(bhttp::field::host, std::string(authority));
  req.set(bhttp::field::user_agent, "dcmon");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::string(body);
  req.prepare_payload();
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    if (!tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(timeout);
      stream.connect(resolver.resolve(host, port));
      HttpResponse out = Exchange(stream, req);
      beast::error_code ec;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      return out;
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    beast::error_code ec;
    if (ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(std::string(ca_file), ec);
    }
    if (ec) {
      return InvalidArgument(fmt::format("TLS: cannot load the CA certificates from {}: {}",
                                         ca_file.empty() ? "the system store" : ca_file,
                                         ec.message()));
    }
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    // The name (SNI sent) or IP address (no SNI, RFC 6066) the certificate must carry.
    SSL* ssl = stream.native_handle();
    beast::error_code not_ip;
    asio::ip::make_address(host, not_ip);
    const bool named =
        not_ip ? SSL_set_tlsext_host_name(ssl, host.c_str()) && SSL_set1_host(ssl, host.c_str())
               : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    if (!named) return InvalidArgument(fmt::format("TLS: {}: not a usable host name", host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(resolver.resolve(host, port));
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        return Unauthenticated(fmt::format(
            "TLS: the certificate of {} is not trusted: {} (verified against {})", authority,
            X509_verify_cert_error_string(verify), ca_file.empty() ? "the system store" : ca_file));
      }
      return IoError(fmt::format("TLS handshake with {} failed: {}", authority, ec.message()));
    }
    HttpResponse out = Exchange(stream, req);
    stream.shutdown(ec);  // a peer that closes without close_notify is no failure of the answer
    return out;
  } catch (const boost::system::system_error& e) {
    return IoError(fmt::format("{} {}: {}", method, url, e.code().message()));
  }
}

}  // namespace dcmon::api
