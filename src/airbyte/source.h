// dcmon as an Airbyte source (docs/airbyte.md): the four commands of the Airbyte Protocol over a
// running `dcmon serve`, paging its HTTP API on each stream's cursor. Each stream is one entry of
// the stream table in source.cc: its endpoint, cursor, primary key, filters and the fields of its
// records, from which both its JSON schema (discover) and its records (read) are made, so the two
// cannot disagree. Messages go to an Emitter (stdout); nothing else is written there. A Source is
// used by one thread; it blocks on HTTP.
//
//   Source source(SourceOptions{});
//   Emitter out(stdout);
//   Result<SourceConfig> config = ParseConfig(config_json);
//   bool ok = source.Read(*config, catalog_json, state_json, out);
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "airbyte/protocol.h"
#include "core/status.h"

namespace dcmon::airbyte {

// How the connector talks to the API: the same for every user unless they pass flags.
struct SourceOptions {
  int max_retries = 5;                              // retries of a page after 5xx, 408 or a timeout
  std::chrono::milliseconds initial_backoff{1000};  // first wait before a retry; doubles each time
  std::chrono::milliseconds max_backoff{60000};     // longest wait, also caps a 429's Retry-After
  std::chrono::seconds request_timeout{60};         // one HTTP request, connect to last byte
  Status Validate() const;
};

// The user's configuration (the spec's connectionSpecification), validated.
struct SourceConfig {
  std::string api_url;  // http(s)://host:port of dcmon serve, no trailing slash
  std::string api_token;
  std::string ca_file;  // https://: PEM CA certificates to verify the server; empty: system store
  int64_t start_cursor = 0;  // first sync starts after this cursor (each stream's own)
  int64_t page_size = 10000;
  // Per stream: (query parameter, value) filters from the `streams` options.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> filters;
};

// Parses and checks a config file's JSON; errors name the field ("api_url: expected ...").
Result<SourceConfig> ParseConfig(std::string_view json);

// One configured stream of a read.
struct ConfiguredStream {
  std::string name;
  bool incremental = false;
};
Result<std::vector<ConfiguredStream>> ParseCatalog(std::string_view json);
// The --state file: an array of STREAM state messages. Returns stream name -> cursor.
Result<std::vector<std::pair<std::string, int64_t>>> ParseState(std::string_view json);

// Seconds to wait from a Retry-After header (delta-seconds); nullopt when absent or an HTTP-date.
std::optional<int64_t> RetryAfterSeconds(std::string_view header);

class Source {
 public:
  explicit Source(SourceOptions options) : options_(options) {}

  void Spec(Emitter& out) const;
  // One CONNECTION_STATUS: SUCCEEDED, or FAILED saying what to fix.
  void Check(std::string_view config_json, Emitter& out) const;
  // One CATALOG.
  void Discover(Emitter& out) const;
  // Records of the configured streams, with STATE and STREAM_STATUS. Returns false when a stream
  // failed (an ERROR trace says why).
  bool Read(const SourceConfig& config, std::string_view catalog_json,
            std::optional<std::string_view> state_json, Emitter& out) const;

 private:
  SourceOptions options_;
};

}  // namespace dcmon::airbyte
