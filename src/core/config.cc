#include "core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <sstream>

namespace dcmon {
namespace {

// A scalar's value as dcmon reads it: strings as they are, numbers and booleans as their TOML text,
// anything else (a date, a nested array or table) as its TOML text, which the reader then reports
// as "expected ..., got ...".
std::string ScalarText(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* d = node.as_floating_point()) return fmt::format("{}", d->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  std::ostringstream text;
  node.visit([&](const auto& n) { text << toml::toml_formatter(n); });
  return text.str();
}

void Flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string, std::less<>>& out) {
  for (auto&& [key, node] : table) {
    const std::string path =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* t = node.as_table()) {
      Flatten(*t, path, out);
    } else if (const auto* a = node.as_array()) {
      // A list (scopes = ["read", "query"]) reads like its comma-separated form ("read,query").
      std::string joined;
      for (size_t i = 0; i < a->size(); ++i) {
        if (i) joined += ',';
        joined += ScalarText(*a->get(i));
      }
      out[path] = std::move(joined);
    } else {
      out[path] = ScalarText(node);
    }
  }
}

}  // namespace

Result<Config> Config::Parse(std::string_view text, std::string_view origin) {
  Config c;
  c.origin_ = std::string(origin);
  try {
    Flatten(toml::parse(text, origin), "", c.file_);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", origin, e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
  return c;
}

Result<Config> Config::Load(const std::string& path) {
  try {
    Config c;
    c.origin_ = path;
    Flatten(toml::parse_file(path), "", c.file_);
    return c;
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
}

std::string Config::EnvName(std::string_view key) {
  std::string name = "DCMON_";
  for (char ch : key)
    name.push_back(ch == '.' ? '_'
                             : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  return name;
}

std::optional<std::string> Config::Get(std::string_view key) const {
  if (auto it = flags_.find(key); it != flags_.end()) return it->second;
  if (const char* env = std::getenv(EnvName(key).c_str())) return std::string(env);
  if (auto it = file_.find(key); it != file_.end()) return it->second;
  return std::nullopt;
}

std::string Config::Origin(std::string_view key) const {
  if (flags_.count(std::string(key))) return "command line";
  if (std::getenv(EnvName(key).c_str())) return EnvName(key);
  if (file_.count(std::string(key))) return origin_;
  return "default";
}

std::map<std::string, std::string> Config::Section(std::string_view prefix) const {
  std::map<std::string, std::string> out;
  const std::string p = std::string(prefix) + ".";
  for (const auto* layer : {&file_, &flags_}) {
    for (auto it = layer->lower_bound(p); it != layer->end() && it->first.starts_with(p); ++it) {
      out[it->first.substr(p.size())] = it->second;
    }
  }
  return out;
}

Result<int64_t> Config::GetInt(std::string_view key, int64_t fallback, int64_t min,
                               int64_t max) const {
  const std::optional<std::string> v = Get(key);
  if (!v) return fallback;
  int64_t x = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || end != v->data() + v->size() || x < min || x > max) {
    return InvalidArgument(fmt::format("{}: expected an integer from {} to {}, got \"{}\" ({})",
                                       key, min, max, *v, Origin(key)));
  }
  return x;
}

Result<double> Config::GetDouble(std::string_view key, double fallback, double min,
                                 double max) const {
  const std::optional<std::string> v = Get(key);
  if (!v) return fallback;
  double x = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || end != v->data() + v->size() || !(x >= min && x <= max)) {
    return InvalidArgument(fmt::format("{}: expected a number from {} to {}, got \"{}\" ({})", key,
                                       min, max, *v, Origin(key)));
  }
  return x;
}

Result<bool> Config::GetBool(std::string_view key, bool fallback) const {
  const std::optional<std::string> v = Get(key);
  if (!v) return fallback;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return InvalidArgument(
      fmt::format("{}: expected true or false, got \"{}\" ({})", key, *v, Origin(key)));
}

}  // namespace dcmon
