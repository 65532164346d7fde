// InfluxDB line protocol parser: see line_protocol.h. One pass finds where a line ends (a string
// field may hold newlines), a second parses it; names without escapes are copied in one piece.
#include "core/line_protocol.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

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

// InfluxDB skips spaces and tabs before a line; between the parts of a line only spaces separate.
bool IsIndent(char c) { return c == ' ' || c == '\t'; }

// The bytes that end a name: ',' and ' ', and '=' in all but the measurement. A backslash escapes
// exactly these and nothing else: `\,` `\ ` in a measurement, also `\=` in tag keys, tag values
// and field keys. Any other backslash is literal, a second backslash included, so `\\ ` is a
// backslash and an escaped space, as in InfluxDB.
bool IsSeparator(char c, bool with_equals) {
  return c == ',' || c == ' ' || (with_equals && c == '=');
}

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
  while (i < n && IsIndent(s[i])) ++i;
  if (i < n && s[i] == '#') return {plain_end, false};  // a quote in a comment opens nothing
  // Measurement and tags: up to the first unescaped space.
  while (i < n && s[i] != ' ') {
    if (s[i] == '\n') return {i, false};
    i += (s[i] == '\\' && i + 1 < n && IsSeparator(s[i + 1], true)) ? 2 : 1;
  }
  while (i < n && s[i] == ' ') ++i;
  // Fields: a '"' right after a field key's '=' opens a string that may hold newlines.
  for (;;) {
    while (i < n && s[i] != '=') {
      if (s[i] == '\n') return {i, false};
      if (s[i] == ' ') break;  // malformed key; the parser rejects the line
      i += (s[i] == '\\' && i + 1 < n && IsSeparator(s[i + 1], true)) ? 2 : 1;
    }
    if (i >= n || s[i] != '=') break;
    ++i;
    if (i < n && s[i] == '"') {
      ++i;
      while (i < n && s[i] != '"') {
        i += (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\')) ? 2 : 1;
      }
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

struct NameEnd {
  size_t end;    // the index of the ',', ' ' or '=' that ended the name, or the line's size
  bool control;  // the name holds a control byte (0x00-0x1f, 0x7f)
};

// Reads a name (measurement, tag key or value, field key) from line[i] up to the first unescaped
// ',' or ' ' (and '=' when with_equals: all but the measurement) into out, unescaping as
// IsSeparator says.
NameEnd ReadName(std::string_view line, size_t i, bool with_equals, std::string& out) {
  out.clear();
  const size_t n = line.size();
  size_t run = i;  // start of the bytes not yet copied to out
  bool control = false;
  while (i < n) {
    const char c = line[i];
    if (IsSeparator(c, with_equals)) break;
    if (c == '\\' && i + 1 < n && IsSeparator(line[i + 1], with_equals)) {
      out.append(line.data() + run, i - run);
      out += line[i + 1];
      i += 2;
      run = i;
      continue;
    }
    control |= static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    ++i;
  }
  out.append(line.data() + run, i - run);
  return {i, control};
}

// The error for a measurement, tag key or field key that is not valid UTF-8 or holds a control
// byte; `what` names the element ("measurement", "tag key", "field key").
Status CheckName(std::string_view what, std::string_view raw, bool control) {
  if (!IsValidUtf8(raw))
    return InvalidArgument(fmt::format("{} {}: invalid UTF-8", what, Quote(raw)));
  if (control) {
    return InvalidArgument(
        fmt::format("{} {}: control characters are not allowed", what, Quote(raw)));
  }
  return Status::Ok();
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

std::string_view PrecisionName(Precision p) {
  switch (p) {
    case Precision::kNanoseconds:
      return "ns";
    case Precision::kMicroseconds:
      return "us";
    case Precision::kMilliseconds:
      return "ms";
    case Precision::kSeconds:
      return "s";
    case Precision::kMinutes:
      return "m";
    case Precision::kHours:
      return "h";
  }
  return "?";
}

int64_t NanosPerUnit(Precision p) {
  switch (p) {
    case Precision::kNanoseconds:
      return 1;
    case Precision::kMicroseconds:
      return 1000;
    case Precision::kMilliseconds:
      return 1000LL * 1000;
    case Precision::kSeconds:
      return 1000LL * 1000 * 1000;
    case Precision::kMinutes:
      return 60LL * 1000 * 1000 * 1000;
    case Precision::kHours:
      return 3600LL * 1000 * 1000 * 1000;
  }
  return 1;
}

// The timestamp as microseconds, the nanoseconds floored (toward the past, before 1970 too).
Result<int64_t> TimestampMicros(std::string_view token, Precision precision) {
  const std::string_view digits = !token.empty() && token[0] == '-' ? token.substr(1) : token;
  if (!AllDigits(digits)) {
    return InvalidArgument(fmt::format("timestamp {}: expected an integer", Quote(token)));
  }
  int64_t t;
  int64_t nanos;
  const auto r = std::from_chars(token.data(), token.data() + token.size(), t);
  if (r.ec != std::errc() || r.ptr != token.data() + token.size() ||
      __builtin_mul_overflow(t, NanosPerUnit(precision), &nanos) || nanos < kMinLineProtocolNanos ||
      nanos > kMaxLineProtocolNanos) {
    return InvalidArgument(
        fmt::format("timestamp {} (precision {}): out of range; InfluxDB takes "
                    "1677-09-21T00:12:43.145224194Z to 2262-04-11T23:47:16.854775806Z",
                    Quote(token), PrecisionName(precision)));
  }
  return nanos / 1000 - (nanos % 1000 < 0 ? 1 : 0);
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

std::string_view TypeName(Field::Type t) {
  switch (t) {
    case Field::kFloat:
      return "float";
    case Field::kInteger:
      return "integer";
    case Field::kUnsigned:
      return "unsigned";
    case Field::kString:
      return "string";
    case Field::kBoolean:
      return "boolean";
  }
  return "?";
}

std::string_view KeyOf(const Field& f) { return f.key; }

// A field key repeated in one line keeps its last value, in the place of its first, as InfluxDB
// does (its fields are a map); a repeat of another type is refused, as InfluxDB refuses it ("field
// type conflict"). Rare, so only the check for repeats is on the common path.
Status MergeRepeatedFields(std::vector<Field>& fields, size_t& count) {
  if (FindDuplicateKey(fields, count, KeyOf) == 0) return Status::Ok();
  std::vector<std::pair<std::string_view, size_t>> keys;
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) keys.emplace_back(fields[i].key, i);
  std::sort(keys.begin(), keys.end());
  // Decide everything before moving a field: the views in `keys` point into the fields' keys.
  std::vector<std::pair<size_t, size_t>> first_last;
  std::vector<bool> drop(count, false);
  for (size_t g = 0; g < keys.size();) {
    size_t h = g + 1;
    while (h < keys.size() && keys[h].first == keys[g].first) ++h;
    const Field& first = fields[keys[g].second];
    for (size_t k = g + 1; k < h; ++k) {
      const Field& repeat = fields[keys[k].second];
      if (repeat.type != first.type) {
        return InvalidArgument(fmt::format("field {}: repeated with another type ({}, then {})",
                                           Quote(first.key), TypeName(first.type),
                                           TypeName(repeat.type)));
      }
      drop[keys[k].second] = true;
    }
    if (h - g > 1) first_last.emplace_back(keys[g].second, keys[h - 1].second);
    g = h;
  }
  for (const auto& [first, last] : first_last) std::swap(fields[first], fields[last]);
  size_t kept = 0;
  for (size_t i = 0; i < count; ++i) {
    if (drop[i]) continue;
    if (kept != i) std::swap(fields[kept], fields[i]);
    ++kept;
  }
  count = kept;
  return Status::Ok();
}

// Parses line[i..] (no newline outside strings, no trailing '\r' or spaces, i at the measurement).
Status ParsePoint(std::string_view line, size_t i, Precision precision, int64_t now_micros,
                  Point& out) {
  const size_t n = line.size();
  NameEnd name = ReadName(line, i, /*with_equals=*/false, out.measurement);
  if (name.end == i) return InvalidArgument("measurement: empty");
  if (Status s = CheckName("measurement", line.substr(i, name.end - i), name.control); !s.ok()) {
    return s;
  }
  size_t j = name.end;
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
    name = ReadName(line, i, /*with_equals=*/true, key);
    if (name.end == i) return InvalidArgument("tag key: empty");
    if (Status s = CheckName("tag key", line.substr(i, name.end - i), name.control); !s.ok()) {
      return s;
    }
    j = name.end;
    if (j >= n || line[j] != '=') {
      return InvalidArgument(fmt::format("tag {}: missing \"=\"", Quote(key)));
    }
    i = j + 1;
    j = ReadName(line, i, /*with_equals=*/true, value).end;
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
    name = ReadName(line, i, /*with_equals=*/true, f.key);
    if (name.end == i) return InvalidArgument("field key: empty");
    if (Status s = CheckName("field key", line.substr(i, name.end - i), name.control); !s.ok()) {
      return s;
    }
    j = name.end;
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

  while (i < n && line[i] == ' ') ++i;
  if (i >= n) {
    out.time_micros = now_micros;
  } else {
    j = line.find(' ', i);
    if (j == std::string_view::npos) j = n;
    Result<int64_t> t = TimestampMicros(line.substr(i, j - i), precision);
    if (!t.ok()) return t.status();
    out.time_micros = *t;
    i = j;
    while (i < n && line[i] == ' ') ++i;
    if (i < n) return InvalidArgument(fmt::format("trailing garbage {}", Quote(line.substr(i))));
  }

  if (size_t d = FindDuplicateKey(out.tags, tag_count,
                                  [](const auto& t) -> std::string_view { return t.first; })) {
    return InvalidArgument(fmt::format("tag {}: repeated", Quote(out.tags[d].first)));
  }
  if (Status s = MergeRepeatedFields(out.fields, field_count); !s.ok()) return s;
  out.fields.resize(field_count);
  return Status::Ok();
}

enum class LineKind { kPoint, kBlank, kComment };

// Trims a line for parsing: drops a trailing '\r' and spaces, finds the first byte after the
// indent.
LineKind Trim(std::string_view& line, size_t& first) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  first = 0;
  while (first < line.size() && IsIndent(line[first])) ++first;
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
