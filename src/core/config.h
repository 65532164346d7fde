// Layered configuration, merged once, here: a TOML file, then DCMON_* environment variables, then
// command-line flags; a later layer wins. Keys are dotted paths ("kafka.bootstrap"); the
// environment variable for a key is DCMON_ + the key in upper case with '.' as '_'
// (DCMON_KAFKA_BOOTSTRAP). Components read their own settings from a Config into their plain
// structs (bus::KafkaConfigFrom, ...), so each setting is declared once, with its component. Value
// type.
//
//   Result<Config> c = Config::Load("dcmon.toml");        // or Config() for none
//   c->SetFlag("kafka.bootstrap", "127.0.0.1:9092");       // from --kafka
//   std::optional<std::string> b = c->Get("kafka.bootstrap");
//   std::map<std::string, std::string> props = c->Section("kafka.properties");
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace dcmon {

class Config {
 public:
  Config() = default;
  // Reads and flattens a TOML file (tables become key prefixes; numbers and booleans their TOML
  // text). Errors name the file, line and column.
  static Result<Config> Load(const std::string& path);
  static Result<Config> Parse(std::string_view toml, std::string_view origin);

  void SetFlag(const std::string& key, std::string value) { flags_[key] = std::move(value); }

  // The value of `key` from the highest layer that has it.
  std::optional<std::string> Get(std::string_view key) const;
  // Typed reads: `fallback` when no layer has the key; an error naming the key, the value and its
  // origin when it is not a number in [min, max] (or not true/false).
  Result<int64_t> GetInt(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;
  Result<double> GetDouble(std::string_view key, double fallback, double min, double max) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;
  // Where Get(key) came from, for messages: "--flag", "DCMON_KAFKA_BOOTSTRAP", "dcmon.toml", or
  // "default".
  std::string Origin(std::string_view key) const;
  // Every key under `prefix.` from the file and the flags (flags win), with the prefix removed. For
  // open-ended maps such as librdkafka properties.
  std::map<std::string, std::string> Section(std::string_view prefix) const;

  static std::string EnvName(std::string_view key);

 private:
  std::string origin_;
  std::map<std::string, std::string, std::less<>> file_;
  std::map<std::string, std::string, std::less<>> flags_;
};

}  // namespace dcmon
