#include "alert/silence.h"

#include <fmt/format.h>

namespace dcmon::alert {

Result<Silence> Silence::Create(std::vector<Matcher> matchers, int64_t starts_at_micros,
                                int64_t ends_at_micros, std::string comment,
                                std::string created_by) {
  if (matchers.empty()) return InvalidArgument("matchers: at least one matcher is needed");
  Silence s;
  for (size_t i = 0; i < matchers.size(); ++i) {
    const Matcher& m = matchers[i];
    if (m.name.empty()) return InvalidArgument(fmt::format("matchers[{}].name: must be set", i));
    if (!m.is_regex) {
      s.regexes_.push_back(nullptr);
      continue;
    }
    try {
      s.regexes_.push_back(std::make_shared<const std::regex>(m.value, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      return InvalidArgument(fmt::format("matchers[{}].value: not a valid regex: {}", i, e.what()));
    }
  }
  if (ends_at_micros <= starts_at_micros)
    return InvalidArgument("ends_at: must be after starts_at");
  s.matchers_ = std::move(matchers);
  s.starts_at_micros_ = starts_at_micros;
  s.ends_at_micros_ = ends_at_micros;
  s.comment_ = std::move(comment);
  s.created_by_ = std::move(created_by);
  return s;
}

bool Silence::Matches(const std::map<std::string, std::string>& labels) const {
  for (size_t i = 0; i < matchers_.size(); ++i) {
    auto it = labels.find(matchers_[i].name);
    const std::string& value = it == labels.end() ? std::string() : it->second;
    const bool match =
        regexes_[i] ? std::regex_match(value, *regexes_[i]) : value == matchers_[i].value;
    if (!match) return false;
  }
  return true;
}

void WriteMatchersJson(const std::vector<Matcher>& matchers, JsonWriter& w) {
  w.BeginArray();
  for (const Matcher& m : matchers) {
    w.BeginObject();
    w.Key("name");
    w.String(m.name);
    w.Key("value");
    w.String(m.value);
    w.Key("is_regex");
    w.Bool(m.is_regex);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace dcmon::alert
