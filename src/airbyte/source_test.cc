#include "airbyte/source.h"

#include <gtest/gtest.h>

namespace dcmon::airbyte {
namespace {

TEST(ParseConfig, DefaultsAndTrailingSlash) {
  Result<SourceConfig> c = ParseConfig(R"({"api_url":"http://h:8080/","api_token":"t"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->api_url, "http://h:8080");
  EXPECT_EQ(c->start_cursor, 0);
  EXPECT_EQ(c->page_size, 10000);
  EXPECT_EQ(c->ca_file, "");
  c = ParseConfig(R"({"api_url":"https://h:8443","api_token":"t","ca_file":"/etc/dcmon/ca.pem"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->api_url, "https://h:8443");
  EXPECT_EQ(c->ca_file, "/etc/dcmon/ca.pem");
}

TEST(ParseConfig, ErrorsNameTheField) {
  auto error = [](std::string_view json) { return ParseConfig(json).status().message(); };
  EXPECT_EQ(error(R"({"api_token":"t"})"), "api_url: missing (a string)");
  EXPECT_EQ(error(R"({"api_url":"http://h"})"), "api_token: missing (a string)");
  EXPECT_EQ(error(R"({"api_url":"ftp://h","api_token":"t"})"),
            "api_url: expected http://host:port or https://host:port, got \"ftp://h\"");
  EXPECT_EQ(error(R"({"api_url":"https://h","api_token":"t","ca_file":1})"),
            "ca_file: expected a string (a file path)");
  EXPECT_NE(error(R"({"api_url":"http://h/api","api_token":"t"})").find("without a path"),
            std::string::npos);
  EXPECT_EQ(error(R"({"api_url":"http://h","api_token":"t","page_size":0})"),
            "page_size: expected an integer from 1 to 10000");
  EXPECT_NE(error(R"({"api_url":"http://h","api_token":"t","streams":{"events":{}}})")
                .find("streams.events: not a stream"),
            std::string::npos);
  EXPECT_NE(error(R"({"api_url":"http://h","api_token":"t","streams":{"metrics":{"room":"a"}}})")
                .find("streams.metrics.room: not a filter"),
            std::string::npos);
}

TEST(ParseConfig, StreamFilters) {
  Result<SourceConfig> c = ParseConfig(
      R"({"api_url":"http://h","api_token":"t","streams":{"sensor_readings":{"room":"r 1"}}})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->filters.size(), 1u);
  EXPECT_EQ(c->filters[0].first, "sensor_readings");
  ASSERT_EQ(c->filters[0].second.size(), 1u);
  EXPECT_EQ(c->filters[0].second[0], (std::pair<std::string, std::string>{"room", "r 1"}));
  c = ParseConfig(
      R"({"api_url":"http://h","api_token":"t","streams":{"alerts":{"rule":"CrahUnitDown"},
          "anomalies":{"device":"room-1-crah-2"}}})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->filters.size(), 2u);
  EXPECT_EQ(c->filters[1].second[0],
            (std::pair<std::string, std::string>{"device", "room-1-crah-2"}));
}

TEST(ParseState, StreamStatesByCursorField) {
  Result<std::vector<std::pair<std::string, int64_t>>> s = ParseState(R"([
    {"type":"STREAM","stream":{"stream_descriptor":{"name":"sensor_readings"},
                               "stream_state":{"ingest_seq":42}}},
    {"type":"STREAM","stream":{"stream_descriptor":{"name":"metrics"},
                               "stream_state":{"ingest_seq":7}}},
    {"type":"STREAM","stream":{"stream_descriptor":{"name":"alerts"},
                               "stream_state":{"event_seq":9}}},
    {"type":"STREAM","stream":{"stream_descriptor":{"name":"gone"},"stream_state":{"x":1}}}])");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0], (std::pair<std::string, int64_t>{"sensor_readings", 42}));
  EXPECT_EQ((*s)[1], (std::pair<std::string, int64_t>{"metrics", 7}));
  EXPECT_EQ((*s)[2], (std::pair<std::string, int64_t>{"alerts", 9}));
  EXPECT_FALSE(ParseState(R"([{"type":"LEGACY","data":{}}])").ok());
  EXPECT_FALSE(ParseState(R"({"sensor_readings":1})").ok());
}

TEST(ParseCatalog, SyncModes) {
  Result<std::vector<ConfiguredStream>> c = ParseCatalog(R"({"streams":[
    {"stream":{"name":"metrics"},"sync_mode":"incremental","destination_sync_mode":"append"},
    {"stream":{"name":"sensor_readings"},"sync_mode":"full_refresh"}]})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_TRUE((*c)[0].incremental);
  EXPECT_FALSE((*c)[1].incremental);
  EXPECT_FALSE(ParseCatalog(R"({"streams":[{"stream":{"name":"x"},"sync_mode":"cdc"}]})").ok());
}

TEST(RetryAfter, DeltaSecondsOnly) {
  EXPECT_EQ(RetryAfterSeconds("3"), 3);
  EXPECT_EQ(RetryAfterSeconds(" 0 "), 0);
  EXPECT_EQ(RetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(RetryAfterSeconds("-1"), std::nullopt);
}

TEST(SourceOptions, Validate) {
  EXPECT_TRUE(SourceOptions{}.Validate().ok());
  EXPECT_FALSE(SourceOptions{.max_retries = -1}.Validate().ok());
  EXPECT_FALSE(SourceOptions{.max_backoff = std::chrono::milliseconds(10)}.Validate().ok());
}

}  // namespace
}  // namespace dcmon::airbyte
