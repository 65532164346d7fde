#include "api/http.h"

#include <fmt/format.h>
#include <zlib.h>

#include "core/json_writer.h"

namespace dcmon::api {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexDigit(in[i + 1]);
      const int lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

}  // namespace

std::optional<std::string_view> HttpRequest::Param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

HttpResponse Json(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse Problem(int status, std::string_view title, std::string_view detail) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  JsonWriter w(r.body);
  w.BeginObject();
  w.Key("type");
  w.String("about:blank");
  w.Key("title");
  w.String(title);
  w.Key("status");
  w.Int(status);
  w.Key("detail");
  w.String(detail);
  w.EndObject();
  return r;
}

Result<std::string> Gunzip(std::string_view compressed, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return InvalidArgument("gzip: cannot start inflate");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() >= max_bytes) {
      inflateEnd(&z);
      return InvalidArgument(fmt::format("gzip: the body inflates past {} bytes", max_bytes));
    }
    const size_t have = out.size();
    out.resize(std::min(max_bytes, std::max<size_t>(have * 2, 64 << 10)));
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(out.size() - have);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return InvalidArgument(fmt::format("gzip: {}", z.msg ? z.msg : "corrupt or truncated data"));
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return InvalidArgument("gzip: truncated data");
    }
  }
  inflateEnd(&z);
  return out;
}

HttpResponse Unavailable(std::string_view title, std::string_view detail, int retry_after_s) {
  HttpResponse r = Problem(503, title, detail);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

HttpResponse ProblemFrom(const Status& s, std::string_view title) {
  struct Answer {
    int http;
    std::string_view title;
  };
  const Answer a = [&]() -> Answer {
    switch (s.code()) {
      case StatusCode::kInvalidArgument:
        return {400, "invalid request"};
      case StatusCode::kUnauthenticated:
        return {401, "authentication required"};
      case StatusCode::kPermissionDenied:
        return {403, "insufficient scope"};
      case StatusCode::kNotFound:
        return {404, "not found"};
      case StatusCode::kAborted:
        return {409, "conflict"};
      case StatusCode::kFailedPrecondition:
        return {409, "failed precondition"};
      case StatusCode::kResourceExhausted:
        return {503, "server busy"};
      case StatusCode::kUnavailable:
        return {503, "unavailable"};
      case StatusCode::kDeadlineExceeded:
        return {503, "timed out"};
      case StatusCode::kOk:
      case StatusCode::kIoError:
      case StatusCode::kInternal:
        break;
    }
    return {500, "store error"};
  }();
  const std::string_view t = title.empty() ? a.title : title;
  return a.http == 503 ? Unavailable(t, s.message(), 1) : Problem(a.http, t, s.message());
}

bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query) {
  const size_t q = target.find('?');
  if (!Decode(target.substr(0, q), false, path)) return false;
  query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key, value;
    if (!Decode(pair.substr(0, eq), true, key)) return false;
    if (eq != std::string_view::npos && !Decode(pair.substr(eq + 1), true, value)) return false;
    query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

}  // namespace dcmon::api
