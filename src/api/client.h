// A small blocking HTTP/1.1 client over Boost.Beast, for the roles that talk to a running server
// (`dcmon sql --server`, the Airbyte source) and for tests. http:// and https://: TLS verifies the
// server's certificate and name (SNI sent) against the system store, or the PEM CA file given; an
// untrusted certificate is Unauthenticated, naming TLS and OpenSSL's reason. One request per call;
// thread-compatible.
//
//   Result<HttpResponse> r = HttpCall("POST", "http://127.0.0.1:8080/api/v1/query",
//                                     {{"Authorization", "Bearer " + token}}, R"({"sql":"SELECT
//                                     1"})");
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"
#include "core/status.h"

namespace dcmon::api {

// `ca_file`: for https://, a PEM file of CA certificates to verify against; empty: the system
// store.
Result<HttpResponse> HttpCall(std::string_view method, std::string_view url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view body,
                              std::chrono::seconds timeout = std::chrono::seconds(60),
                              std::string_view ca_file = {});

}  // namespace dcmon::api
