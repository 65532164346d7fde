#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace dcmon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(Config, FileThenEnvironmentThenFlags) {
  Result<Config> c = Config::Parse(R"(
[kafka]
bootstrap = "file:9092"
sensors_topic = "from.file"
[kafka.properties]
"security.protocol" = "SASL_SSL"
"sasl.username" = "file-user"
[api]
port = 8080
open_reads = true
)",
                                   "dcmon.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("kafka.bootstrap"), "file:9092");
  EXPECT_EQ(c->Get("api.port"), "8080");
  EXPECT_EQ(c->Get("api.open_reads"), "true");
  EXPECT_EQ(c->Get("nothing"), std::nullopt);
  EXPECT_EQ(c->Origin("kafka.bootstrap"), "dcmon.toml");

  ::setenv("DCMON_KAFKA_BOOTSTRAP", "env:9092", 1);
  EXPECT_EQ(c->Get("kafka.bootstrap"), "env:9092");
  EXPECT_EQ(c->Origin("kafka.bootstrap"), "DCMON_KAFKA_BOOTSTRAP");
  c->SetFlag("kafka.bootstrap", "flag:9092");
  EXPECT_EQ(c->Get("kafka.bootstrap"), "flag:9092");
  EXPECT_EQ(c->Origin("kafka.bootstrap"), "command line");
  ::unsetenv("DCMON_KAFKA_BOOTSTRAP");

  c->SetFlag("kafka.properties.sasl.username", "flag-user");
  EXPECT_THAT(c->Section("kafka.properties"), ElementsAre(Pair("sasl.username", "flag-user"),
                                                          Pair("security.protocol", "SASL_SSL")));
}

TEST(Config, ErrorsNameTheFileAndLine) {
  Result<Config> c = Config::Parse("[kafka\nbootstrap = 1", "dcmon.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("dcmon.toml:1:"));
  EXPECT_THAT(Config::Load("/no/such/dcmon.toml").status().message(),
              HasSubstr("/no/such/dcmon.toml"));
}

TEST(Config, EnvironmentNames) {
  EXPECT_EQ(Config::EnvName("kafka.sensors_topic"), "DCMON_KAFKA_SENSORS_TOPIC");
}

TEST(Config, TypedReadsNameTheKeyAndOrigin) {
  Result<Config> c =
      Config::Parse("[api]\nthreads = 4\nrate = 2.5\nopen = true\nbad = \"x\"\n", "t.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->GetInt("api.threads", 1, 1, 8), 4);
  EXPECT_EQ(*c->GetInt("api.missing", 7, 1, 8), 7);
  EXPECT_DOUBLE_EQ(*c->GetDouble("api.rate", 0, 0, 10), 2.5);
  EXPECT_TRUE(*c->GetBool("api.open", false));
  EXPECT_EQ(c->GetInt("api.threads", 1, 1, 2).status().message(),
            "api.threads: expected an integer from 1 to 2, got \"4\" (t.toml)");
  EXPECT_FALSE(c->GetDouble("api.bad", 0, 0, 1).ok());
  EXPECT_EQ(c->GetBool("api.bad", false).status().message(),
            "api.bad: expected true or false, got \"x\" (t.toml)");
}

// A TOML list reads like its comma-separated form; other values keep their TOML text so that the
// reader's "expected ..., got ..." shows what was written.
TEST(Config, ArraysAndOtherValues) {
  Result<Config> c = Config::Parse(
      "[a]\nlist = [\"read\", \"query\"]\nnums = [1, 2]\nempty = []\nwhen = 2026-01-01\n", "t");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("a.list"), "read,query");
  EXPECT_EQ(c->Get("a.nums"), "1,2");
  EXPECT_EQ(c->Get("a.empty"), "");
  EXPECT_EQ(c->Get("a.when"), "2026-01-01");
  EXPECT_EQ(c->GetInt("a.when", 0, 0, 10).status().message(),
            "a.when: expected an integer from 0 to 10, got \"2026-01-01\" (t)");
}

}  // namespace
}  // namespace dcmon
