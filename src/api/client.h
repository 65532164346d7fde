// A small blocking HTTP/1.1 client over Boost.Beast, for the roles that talk to a running server
// (`dcmon sql --server`, the Airbyte source) and for tests. Plain http:// only: put TLS in front
// with a reverse proxy. One request per call; thread-compatible.
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

Result<HttpResponse> HttpCall(std::string_view method, std::string_view url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view body,
                              std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace dcmon::api
