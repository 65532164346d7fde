#include "core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dcmon {
namespace {

void AppendEscaped(std::string_view s, bool quotes, std::string& out) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

// Prometheus's float text: integers without an exponent, NaN and ±Inf spelled its way.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

void AppendSample(std::string& out, std::string_view name, const Labels& labels,
                  const std::pair<std::string, std::string>* extra, double value) {
  out += name;
  if (!labels.empty() || extra) {
    out.push_back('{');
    bool first = true;
    auto label = [&](const std::string& k, const std::string& v) {
      if (!first) out.push_back(',');
      first = false;
      out += k;
      out += "=\"";
      AppendEscaped(v, true, out);
      out.push_back('"');
    };
    for (const auto& [k, v] : labels) label(k, v);
    if (extra) label(extra->first, extra->second);
    out.push_back('}');
  }
  out.push_back(' ');
  out += FormatValue(value);
  out.push_back('\n');
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

std::vector<uint64_t> Histogram::Counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

Exposition::Family& Exposition::FamilyFor(std::string_view name, std::string_view help,
                                          std::string_view type) {
  for (Family& f : families_) {
    if (f.name == name) return f;
  }
  families_.push_back({std::string(name), std::string(help), std::string(type), {}});
  return families_.back();
}

void Exposition::Counter(std::string_view name, std::string_view help, const Labels& labels,
                         double value) {
  AppendSample(FamilyFor(name, help, "counter").samples, name, labels, nullptr, value);
}

void Exposition::Gauge(std::string_view name, std::string_view help, const Labels& labels,
                       double value) {
  AppendSample(FamilyFor(name, help, "gauge").samples, name, labels, nullptr, value);
}

void Exposition::Histogram(std::string_view name, std::string_view help, const Labels& labels,
                           const dcmon::Histogram& h) {
  std::string& out = FamilyFor(name, help, "histogram").samples;
  const std::vector<uint64_t> counts = h.Counts();
  uint64_t cumulative = 0;
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::pair<std::string, std::string> le{
        "le", i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf"};
    AppendSample(out, bucket, labels, &le, static_cast<double>(cumulative));
  }
  AppendSample(out, std::string(name) + "_sum", labels, nullptr, h.sum());
  AppendSample(out, std::string(name) + "_count", labels, nullptr, static_cast<double>(cumulative));
}

std::string Exposition::Finish() {
  std::string out;
  for (const Family& f : families_) {
    out += "# HELP ";
    out += f.name;
    out.push_back(' ');
    AppendEscaped(f.help, false, out);
    out += "\n# TYPE ";
    out += f.name;
    out.push_back(' ');
    out += f.type;
    out.push_back('\n');
    out += f.samples;
  }
  families_.clear();
  return out;
}

}  // namespace dcmon
