// Silences (maintenance windows): label matchers with a time range. A silenced alert keeps its
// lifecycle and history and shows in the API with `silenced_by`, but is not sent to notifiers.
// Matching follows Alertmanager: every matcher must match; a regex matcher is anchored (the whole
// value); a label the alert lacks has the value "". Value types.
//
//   Result<Silence> s = Silence::Create({{"room", "room-1", false}}, t0, t1, "UPS work", "alice");
//   if (s->Active(now) && s->Matches(alert.labels)) ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "core/json_writer.h"
#include "core/status.h"

namespace dcmon::alert {

struct Matcher {
  std::string name;   // label name, e.g. "room"
  std::string value;  // the value, or an ECMAScript regex when is_regex
  bool is_regex = false;
};

class Silence {
 public:
  // Checks the matchers (at least one, names set, regexes compile) and the range (ends after it
  // starts). Errors name the field: "matchers[1].value: not a valid regex: ...".
  static Result<Silence> Create(std::vector<Matcher> matchers, int64_t starts_at_micros,
                                int64_t ends_at_micros, std::string comment,
                                std::string created_by);

  bool Active(int64_t now_micros) const {
    return starts_at_micros_ <= now_micros && now_micros < ends_at_micros_;
  }
  bool Matches(const std::map<std::string, std::string>& labels) const;

  std::string id;  // assigned when stored
  const std::vector<Matcher>& matchers() const { return matchers_; }
  int64_t starts_at_micros() const { return starts_at_micros_; }
  int64_t ends_at_micros() const { return ends_at_micros_; }
  const std::string& comment() const { return comment_; }
  const std::string& created_by() const { return created_by_; }
  // Expiring (DELETE) ends it now; it stays listed until then.
  void Expire(int64_t now_micros) { ends_at_micros_ = std::min(ends_at_micros_, now_micros); }

 private:
  std::vector<Matcher> matchers_;
  std::vector<std::shared_ptr<const std::regex>> regexes_;  // per matcher; null when not a regex
  int64_t starts_at_micros_ = 0;
  int64_t ends_at_micros_ = 0;
  std::string comment_, created_by_;
};

// [{"name","value","is_regex"}, …]: the matchers as the API shows and the store keeps them.
void WriteMatchersJson(const std::vector<Matcher>& matchers, JsonWriter& w);

}  // namespace dcmon::alert
