// The one conversion from a request Beast has parsed to the HttpRequest a Handler sees: method,
// decoded path and query, header names in lower case, body, peer. Used by the server's sessions
// (server.cc) and by the HTTP fuzz target, which feeds bytes through Beast's parser without a
// socket. Pure function; thread-safe.
//
//   HttpRequest r;
//   if (!FromBeast(parser.release(), "10.0.0.1", false, r)) { /* 400: bad percent-escape */ }
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "api/http.h"

namespace dcmon::api {

// Fills `out` from `request`; false when the target has a malformed percent-escape.
bool FromBeast(boost::beast::http::request<boost::beast::http::string_body>&& request,
               std::string remote_address, bool loopback, HttpRequest& out);

}  // namespace dcmon::api
