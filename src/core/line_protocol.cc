// InfluxDB line protocol parser: see line_protocol.h. One pass finds where a line ends (a string
// field may hold newlines), a second parses it; names without escapes are copied in one piece.
#include "core/line_protocol.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/swar.h"
#include "core/time.h"
#include "core/utf8.h"

namespace dcmon {
namespace {

// A piece of the input quoted for an error message: cut after 64 bytes, '"' and '\' escaped,
// control bytes and invalid UTF-8 as \xNN, so the message is always valid UTF-8.
std::string Quote(std::string_view s) {
  constexpr size_t kLimit = 64;
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    if (i >= kLimit) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (const size_t len = c >= 0x80 ? Utf8SequenceLength(s, i) : 0; len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  out += '"';
  return out;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

struct LineEnd {
  size_t end;        // index of the '\n' ending the line, or the body's size
  bool spans_lines;  // a string field value holds a newline
};

// Finds the end of the line starting at `begin`: the first '\n' outside a string field value.
// Mirrors the parser's tokens closely enough that a malformed line never swallows a good one
// unless it opens a string it does not close (as InfluxDB itself does).
LineEnd ScanLineEnd(std::string_view s, size_t begin) {
  const char* base = s.data();
  const size_t n = s.size();
  const auto* nl = static_cast<const char*>(std::memchr(base + begin, '\n', n - begin));
  const size_t plain_end = nl != nullptr ? static_cast<size_t>(nl - base) : n;
  if (std::memchr(base + begin, '"', plain_end - begin) == nullptr) return {plain_end, false};

  size_t i = begin;
  while (i < n && IsBlank(s[i])) ++i;
  if (i < n && s[i] == '#') return {plain_end, false};  // a quote in a comment opens nothing
  // Measurement and tags: up to the first unescaped space.
  while (i < n && s[i] != ' ') {
    if (s[i] == '\n') return {i, false};
    i += (s[i] == '\\' && i + 1 < n && s[i + 1] != '\n') ? 2 : 1;
  }
  while (i < n && s[i] == ' ') ++i;
  // Fields: a '"' right after a field key's '=' opens a string that may hold newlines.
  for (;;) {
    while (i < n && s[i] != '=') {
      if (s[i] == '\n') return {i, false};
      if (s[i] == ' ') break;  // malformed key; the parser rejects the line
      i += (s[i] == '\\' && i + 1 < n && s[i + 1] != '\n') ? 2 : 1;
    }
    if (i >= n || s[i] != '=') break;
    ++i;
    if (i < n && s[i] == '"') {
      ++i;
      while (i < n && s[i] != '"') i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
      if (i >= n) return {n, true};
      ++i;
    } else {
      while (i < n && s[i] != ',' && s[i] != ' ' && s[i] != '\n') ++i;
    }
    if (i >= n || s[i] != ',') break;
    ++i;
  }
  // Timestamp or garbage: up to the next newline.
  const auto* rest = static_cast<const char*>(std::memchr(base + i, '\n', n - i));
  return {rest != nullptr ? static_cast<size_t>(rest - base) : n, true};
}

// Reads a name (measurement, tag key or value, field key) from line[i] up to the first unescaped
// ',' or ' ' (and '=' when stop_at_equals) into out, unescaping `\,` `\ ` `\\` (and `\=` when
// stop_at_equals). Returns the index it stopped at.
size_t ReadName(std::string_view line, size_t i, bool stop_at_equals, std::string& out) {
  out.clear();
  const size_t n = line.size();
  size_t run = i;  // start of the bytes not yet copied to out
  while (i < n) {
    const char c = line[i];
    if (c == ',' || c == ' ' || (stop_at_equals && c == '=')) break;
    if (c == '\\' && i + 1 < n) {
      const char e = line[i + 1];
      if (e == ',' || e == ' ' || e == '\\' || (stop_at_equals && e == '=')) {
        out.append(line.data() + run, i - run);
        out += e;
        i += 2;
        run = i;
        continue;
      }
    }
    ++i;
  }
  out.append(line.data() + run, i - run);
  return i;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// -?(digits[.digits*] | .digits)([eE][+-]?digits)? : what InfluxDB takes as a float, without the
// inf/nan/hex forms that std::from_chars would also accept.
bool IsFloatSyntax(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  if (i < n && t[i] == '-') ++i;
  size_t digits = 0;
  while (i < n && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (i < n && t[i] == '.') {
    ++i;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    const size_t exp_begin = i;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
    if (i == exp_begin) return false;
  }
  return i == n;
}

bool IsNanOrInf(std::string_view t) {
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.remove_prefix(1);
  std::string lower(t.substr(0, 8));
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return t.size() <= 8 && (lower == "nan" || lower == "inf" || lower == "infinity");
}

Status ParseNumber(std::string_view token, Field& f) {
  const char* begin = token.data();
  const char* end = token.data() + token.size();
  const char last = token.back();
  if (last == 'i') {
    const std::string_view digits = token.substr(0, token.size() - 1);
    if (!AllDigits(!digits.empty() && digits[0] == '-' ? digits.substr(1) : digits)) {
      return InvalidArgument(fmt::format("invalid integer {}", Quote(token)));
    }
    const auto r = std::from_chars(begin, end - 1, f.integer);
    if (r.ec != std::errc() || r.ptr != end - 1) {
      return InvalidArgument(fmt::format("integer {} out of range", Quote(token)));
    }
    f.type = Field::kInteger;
    f.number = static_cast<double>(f.integer);
    return Status::Ok();
  }
  if (last == 'u') {
    if (!AllDigits(token.substr(0, token.size() - 1))) {
      return InvalidArgument(fmt::format("invalid unsigned integer {}", Quote(token)));
    }
    const auto r = std::from_chars(begin, end - 1, f.uinteger);
    if (r.ec != std::errc() || r.ptr != end - 1) {
      return InvalidArgument(fmt::format("unsigned integer {} out of range", Quote(token)));
    }
    f.type = Field::kUnsigned;
    f.number = static_cast<double>(f.uinteger);
    return Status::Ok();
  }
  if (!IsFloatSyntax(token)) {
    if (IsNanOrInf(token)) {
      return InvalidArgument(
          fmt::format("invalid number {}: NaN and infinities are not allowed", Quote(token)));
    }
    return InvalidArgument(fmt::format("invalid number {}", Quote(token)));
  }
  f.type = Field::kFloat;
  const auto r = std::from_chars(begin, end, f.number);
  if (r.ec == std::errc::result_out_of_range) {
    // Underflow rounds to zero or a subnormal as in InfluxDB; only overflow is an error.
    const std::string copy(token);
    f.number = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(f.number)) {
      return InvalidArgument(fmt::format("number {} out of range", Quote(token)));
    }
  } else if (r.ec != std::errc() || r.ptr != end) {
    return InvalidArgument(fmt::format("invalid number {}", Quote(token)));
  }
  return Status::Ok();
}

bool ParseBoolean(std::string_view t, bool& value) {
  if (t == "t" || t == "T" || t == "true" || t == "True" || t == "TRUE") {
    value = true;
    return true;
  }
  if (t == "f" || t == "F" || t == "false" || t == "False" || t == "FALSE") {
    value = false;
    return true;
  }
  return false;
}

// Parses the field value at line[i] into f and moves i past it. The message names no field.
Status ParseFieldValue(std::string_view line, size_t& i, Field& f) {
  const size_t n = line.size();
  f.text.clear();
  f.integer = 0;
  f.uinteger = 0;
  if (i < n && line[i] == '"') {
    size_t j = i + 1;
    size_t run = j;
    while (j < n && line[j] != '"') {
      if (line[j] == '\\' && j + 1 < n && (line[j + 1] == '"' || line[j + 1] == '\\')) {
        f.text.append(line.data() + run, j - run);
        f.text += line[j + 1];
        j += 2;
        run = j;
      } else {
        ++j;
      }
    }
    if (j >= n) return InvalidArgument("unterminated string");
    f.text.append(line.data() + run, j - run);
    if (!IsValidUtf8(line.substr(i + 1, j - i - 1))) {
      return InvalidArgument("string value is not valid UTF-8");
    }
    f.type = Field::kString;
    f.number = 0;
    i = j + 1;
    return Status::Ok();
  }
  size_t j = i;
  while (j < n && line[j] != ',' && line[j] != ' ') ++j;
  const std::string_view token = line.substr(i, j - i);
  if (token.empty()) return InvalidArgument("missing value");
  i = j;
  if (bool b; ParseBoolean(token, b)) {
    f.type = Field::kBoolean;
    f.number = b ? 1 : 0;
    return Status::Ok();
  }
  return ParseNumber(token, f);
}

Result<int64_t> TimestampMicros(std::string_view token, Precision precision) {
  const std::string_view digits = !token.empty() && token[0] == '-' ? token.substr(1) : token;
  if (!AllDigits(digits)) {
    return InvalidArgument(fmt::format("timestamp {}: expected an integer", Quote(token)));
  }
  int64_t t;
  const auto r = std::from_chars(token.data(), token.data() + token.size(), t);
  if (r.ec != std::errc() || r.ptr != token.data() + token.size()) {
    return InvalidArgument(fmt::format("timestamp {}: out of range", Quote(token)));
  }
  int64_t factor = 1;
  switch (precision) {
    case Precision::kNanoseconds:
      t = t / 1000 - (t % 1000 < 0 ? 1 : 0);  // floor: toward the past
      break;
    case Precision::kMicroseconds:
      break;
    case Precision::kMilliseconds:
      factor = 1000;
      break;
    case Precision::kSeconds:
      factor = 1000000;
      break;
    case Precision::kMinutes:
      factor = 60LL * 1000000;
      break;
    case Precision::kHours:
      factor = 3600LL * 1000000;
      break;
  }
  int64_t micros;
  if (__builtin_mul_overflow(t, factor, &micros) || micros < kMinTimestampMicros ||
      micros >= kMaxTimestampMicros) {
    return InvalidArgument(
        fmt::format("timestamp {}: out of range [1970-01-01, 2200-01-01)", Quote(token)));
  }
  return micros;
}

// The index of an element whose key repeats an earlier one, or 0 if none (element 0 cannot).
template <typename Vec, typename KeyOf>
size_t FindDuplicateKey(const Vec& v, size_t n, KeyOf key_of) {
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i) {
      for (size_t k = 0; k < i; ++k) {
        if (key_of(v[k]) == key_of(v[i])) return i;
      }
    }
    return 0;
  }
  std::vector<std::pair<std::string_view, size_t>> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) keys.emplace_back(key_of(v[i]), i);
  std::sort(keys.begin(), keys.end());
  size_t found = 0;
  for (size_t i = 1; i < keys.size(); ++i) {
    if (keys[i].first == keys[i - 1].first && (found == 0 || keys[i].second < found)) {
      found = keys[i].second;
    }
  }
  return found;
}

// Parses line[i..] (no newline outside strings, no trailing '\r' or blanks, i at the measurement).
Status ParsePoint(std::string_view line, size_t i, Precision precision, int64_t now_micros,
                  Point& out) {
  const size_t n = line.size();
  size_t j = ReadName(line, i, /*stop_at_equals=*/false, out.measurement);
  if (j == i) return InvalidArgument("measurement: empty");
  if (!IsValidUtf8(line.substr(i, j - i))) return InvalidArgument("measurement: invalid UTF-8");
  i = j;

  // Entries are overwritten in place so that a reused Point keeps its strings' storage. A fresh
  // Point gets room for as many tags and fields as there are commas, not vector growth steps.
  if (out.tags.capacity() == 0 && out.fields.capacity() == 0) {
    const size_t space = std::min(line.find(' ', j), n);
    const auto tag_commas =
        static_cast<size_t>(std::count(line.begin() + j, line.begin() + space, ','));
    out.tags.reserve(tag_commas);
    out.fields.reserve(static_cast<size_t>(std::count(line.begin() + space, line.end(), ',')) + 1);
  }
  size_t tag_count = 0;
  while (i < n && line[i] == ',') {
    ++i;
    if (tag_count == out.tags.size()) out.tags.emplace_back();
    auto& [key, value] = out.tags[tag_count];
    j = ReadName(line, i, /*stop_at_equals=*/true, key);
    if (j == i) return InvalidArgument("tag key: empty");
    if (!IsValidUtf8(line.substr(i, j - i))) {
      return InvalidArgument(
          fmt::format("tag key {}: invalid UTF-8", Quote(line.substr(i, j - i))));
    }
    if (j >= n || line[j] != '=') {
      return InvalidArgument(fmt::format("tag {}: missing \"=\"", Quote(key)));
    }
    i = j + 1;
    j = ReadName(line, i, /*stop_at_equals=*/true, value);
    if (j < n && line[j] == '=') {
      return InvalidArgument(fmt::format("tag {}: unescaped \"=\" in value", Quote(key)));
    }
    if (j == i) return InvalidArgument(fmt::format("tag {}: empty value", Quote(key)));
    if (!IsValidUtf8(line.substr(i, j - i))) {
      return InvalidArgument(fmt::format("tag {}: value is not valid UTF-8", Quote(key)));
    }
    ++tag_count;
    i = j;
  }
  out.tags.resize(tag_count);

  while (i < n && line[i] == ' ') ++i;
  if (i >= n) return InvalidArgument("no fields");
  size_t field_count = 0;
  for (;;) {
    if (field_count == out.fields.size()) out.fields.emplace_back();
    Field& f = out.fields[field_count];
    j = ReadName(line, i, /*stop_at_equals=*/true, f.key);
    if (j == i) {
      return InvalidArgument("field key: empty");
    }
    if (!IsValidUtf8(line.substr(i, j - i))) {
      return InvalidArgument(
          fmt::format("field key {}: invalid UTF-8", Quote(line.substr(i, j - i))));
    }
    if (j >= n || line[j] != '=') {
      return InvalidArgument(fmt::format("field {}: missing \"=\"", Quote(f.key)));
    }
    i = j + 1;
    if (Status s = ParseFieldValue(line, i, f); !s.ok()) {
      return s.WithPrefix(fmt::format("field {}: ", Quote(f.key)));
    }
    ++field_count;
    if (i >= n || line[i] == ' ') break;
    if (line[i] != ',') {
      return InvalidArgument(fmt::format("field {}: unexpected {} after the value", Quote(f.key),
                                         Quote(line.substr(i, 1))));
    }
    ++i;
  }
  out.fields.resize(field_count);

  while (i < n && IsBlank(line[i])) ++i;
  if (i >= n) {
    out.time_micros = now_micros;
  } else {
    j = i;
    while (j < n && !IsBlank(line[j])) ++j;
    Result<int64_t> t = TimestampMicros(line.substr(i, j - i), precision);
    if (!t.ok()) return t.status();
    out.time_micros = *t;
    i = j;
    while (i < n && IsBlank(line[i])) ++i;
    if (i < n) return InvalidArgument(fmt::format("trailing garbage {}", Quote(line.substr(i))));
  }

  if (size_t d = FindDuplicateKey(out.tags, tag_count,
                                  [](const auto& t) -> std::string_view { return t.first; })) {
    return InvalidArgument(fmt::format("tag {}: repeated", Quote(out.tags[d].first)));
  }
  if (size_t d = FindDuplicateKey(out.fields, field_count,
                                  [](const Field& f) -> std::string_view { return f.key; })) {
    return InvalidArgument(fmt::format("field {}: repeated", Quote(out.fields[d].key)));
  }
  return Status::Ok();
}

enum class LineKind { kPoint, kBlank, kComment };

// Trims a line for parsing: drops a trailing '\r' and blanks, finds the first non-blank byte.
LineKind Trim(std::string_view& line, size_t& first) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  while (!line.empty() && IsBlank(line.back())) line.remove_suffix(1);
  first = 0;
  while (first < line.size() && IsBlank(line[first])) ++first;
  if (first == line.size()) return LineKind::kBlank;
  return line[first] == '#' ? LineKind::kComment : LineKind::kPoint;
}

Status TooLong(size_t size) {
  return InvalidArgument(
      fmt::format("line too long ({} bytes, limit {})", size, kMaxLineProtocolLineBytes));
}

}  // namespace

Result<Precision> ParsePrecision(std::string_view param, LineProtocolApi api) {
  if (param.empty() || param == "ns") return Precision::kNanoseconds;
  if (param == "us") return Precision::kMicroseconds;
  if (param == "ms") return Precision::kMilliseconds;
  if (param == "s") return Precision::kSeconds;
  if (api == LineProtocolApi::kV1) {
    if (param == "n") return Precision::kNanoseconds;
    if (param == "u") return Precision::kMicroseconds;
    if (param == "m") return Precision::kMinutes;
    if (param == "h") return Precision::kHours;
    return InvalidArgument(
        fmt::format("precision {}: expected one of n, u, ms, s, m, h", Quote(param)));
  }
  return InvalidArgument(fmt::format("precision {}: expected one of ns, us, ms, s", Quote(param)));
}

Status ParseLineProtocolLine(std::string_view line, Precision precision, int64_t now_micros,
                             Point& out) {
  if (line.size() > kMaxLineProtocolLineBytes) return TooLong(line.size());
  if (ScanLineEnd(line, 0).end != line.size()) {
    return InvalidArgument("newline outside a string field");
  }
  size_t first;
  switch (Trim(line, first)) {
    case LineKind::kBlank:
      return InvalidArgument("blank line");
    case LineKind::kComment:
      return InvalidArgument("comment");
    case LineKind::kPoint:
      break;
  }
  return ParsePoint(line, first, precision, now_micros, out);
}

LineProtocolBatch ParseLineProtocol(std::string_view body, Precision precision,
                                    int64_t now_micros) {
  LineProtocolBatch batch;
  int64_t line_number = 1;
  size_t pos = 0;
  while (pos < body.size()) {
    const LineEnd le = ScanLineEnd(body, pos);
    std::string_view line = body.substr(pos, le.end - pos);
    const int64_t this_line = line_number;
    line_number += 1 + (le.spans_lines ? std::count(line.begin(), line.end(), '\n') : 0);
    pos = le.end + 1;

    size_t first;
    if (Trim(line, first) != LineKind::kPoint) continue;
    Status status;
    if (line.size() > kMaxLineProtocolLineBytes) {
      status = TooLong(line.size());
    } else {
      Point& point = batch.points.emplace_back();
      status = ParsePoint(line, first, precision, now_micros, point);
      if (!status.ok()) batch.points.pop_back();
    }
    if (!status.ok()) {
      batch.errors.push_back({this_line, status.WithPrefix(fmt::format("line {}: ", this_line))});
    }
  }
  return batch;
}

}  // namespace dcmon
