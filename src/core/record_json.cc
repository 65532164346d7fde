// Strict JSON decoding of records with simdjson On-Demand, and encoding with JsonWriter.
#include "core/record_json.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/json_writer.h"
#include "core/swar.h"
#include "core/time.h"
#include "core/utf8.h"

namespace dcmon {
namespace {

namespace od = simdjson::ondemand;

enum class Kind : uint8_t { kString, kNumber, kInteger, kTimestamp };

enum Field : uint8_t {
  kSourceType,
  kDeviceId,
  kLocation,
  kMeasurementType,
  kValue,
  kTimestamp,
  kUnit,
  kSeq,
  kSite,
  kRoom,
  kRow,
  kRack,
  kPosition,
  kSystemId,
  kEfficiency,
  kPower,
  kSupplyTemp,
  kReturnTemp,
  kFanSpeed,
  kFieldCount,
  kUnknown = kFieldCount,
};

struct FieldInfo {
  std::string_view name;
  Kind kind;
};

constexpr std::array<FieldInfo, kFieldCount> kFields = {{
    {"source_type", Kind::kString},
    {"device_id", Kind::kString},
    {"location", Kind::kString},
    {"measurement_type", Kind::kString},
    {"value", Kind::kNumber},
    {"timestamp", Kind::kTimestamp},
    {"unit", Kind::kString},
    {"seq", Kind::kInteger},
    {"site", Kind::kString},
    {"room", Kind::kString},
    {"row", Kind::kString},
    {"rack", Kind::kString},
    {"position", Kind::kString},
    {"system_id", Kind::kString},
    {"efficiency_percent", Kind::kNumber},
    {"power_consumption_watts", Kind::kNumber},
    {"supply_air_temp_celsius", Kind::kNumber},
    {"return_air_temp_celsius", Kind::kNumber},
    {"fan_speed_percent", Kind::kNumber},
}};

using Mask = uint32_t;
constexpr Mask Bit(Field f) { return Mask{1} << f; }

constexpr Mask kCommon = Bit(kSourceType) | Bit(kTimestamp) | Bit(kSeq) | Bit(kSite) | Bit(kRoom) |
                         Bit(kRow) | Bit(kRack);
constexpr Mask kSensorAllowed = kCommon | Bit(kDeviceId) | Bit(kLocation) | Bit(kMeasurementType) |
                                Bit(kValue) | Bit(kUnit) | Bit(kPosition);
constexpr Mask kSensorRequired = Bit(kSourceType) | Bit(kDeviceId) | Bit(kLocation) |
                                 Bit(kMeasurementType) | Bit(kValue) | Bit(kTimestamp);
constexpr Mask kCoolingAllowed = kCommon | Bit(kSystemId) | Bit(kEfficiency) | Bit(kPower) |
                                 Bit(kSupplyTemp) | Bit(kReturnTemp) | Bit(kFanSpeed);
constexpr Mask kCoolingRequired =
    Bit(kSourceType) | Bit(kSystemId) | Bit(kEfficiency) | Bit(kPower) | Bit(kTimestamp);

// Field names bucketed by length: a key is compared with at most three names.
constexpr size_t kMaxNameLength = 23;
constexpr auto kBySize = [] {
  std::array<std::array<Field, 4>, kMaxNameLength + 1> t{};
  for (auto& bucket : t) bucket.fill(kUnknown);
  for (size_t i = 0; i < kFields.size(); ++i) {
    auto& bucket = t[kFields[i].name.size()];
    size_t j = 0;
    while (bucket[j] != kUnknown) ++j;
    bucket[j] = static_cast<Field>(i);
  }
  return t;
}();

Field Lookup(std::string_view key) {
  if (key.size() > kMaxNameLength) return kUnknown;
  for (Field f : kBySize[key.size()]) {
    if (f == kUnknown) break;
    if (std::memcmp(kFields[f].name.data(), key.data(), key.size()) == 0) return f;
  }
  return kUnknown;
}

// Each field's name and closing quote as a key's bytes hold them, in 8-byte words with masks for
// the bytes that count, so that a key can be recognised in place without finding its end first.
struct QuotedName {
  std::array<uint64_t, 3> word{};
  std::array<uint64_t, 3> mask{};
};
constexpr auto kQuotedNames = [] {
  std::array<QuotedName, kFieldCount> t{};
  for (size_t f = 0; f < kFields.size(); ++f) {
    const std::string_view name = kFields[f].name;
    for (size_t i = 0; i <= name.size(); ++i) {
      const uint64_t byte = i < name.size() ? static_cast<unsigned char>(name[i]) : '"';
      t[f].word[i / 8] |= byte << (8 * (i % 8));
      t[f].mask[i / 8] |= uint64_t{0xff} << (8 * (i % 8));
    }
  }
  return t;
}();
static_assert(kMaxNameLength + 1 <= 3 * 8);

// True if the key at p (just after its opening quote, in padded input) is field f's name.
bool KeyIs(const char* p, Field f) {
  const QuotedName& q = kQuotedNames[f];
  const uint64_t differ = ((swar::Load(p) & q.mask[0]) ^ q.word[0]) |
                          ((swar::Load(p + 8) & q.mask[1]) ^ q.word[1]) |
                          ((swar::Load(p + 16) & q.mask[2]) ^ q.word[2]);
  return differ == 0;
}

std::string_view TypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

Status FieldError(std::string_view field, std::string_view reason) {
  return InvalidArgument(fmt::format("{}: {}", field, reason));
}

// A value quoted into a message, cut short so a hostile input cannot blow up the reason.
std::string Quote(std::string_view s) {
  size_t cut = std::min<size_t>(s.size(), 64);
  while (cut < s.size() && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  std::string out;
  AppendJsonString(s.substr(0, cut), out);
  if (cut < s.size()) out.insert(out.size() - 1, "...");
  return out;
}

// The name of the field whose key or value holds byte `offset`, found by scanning back for
// `"name":`. Best effort, for error messages only.
std::string_view FieldAround(std::string_view json, size_t offset) {
  for (size_t i = std::min(offset, json.size()); i-- > 0;) {
    if (json[i] != ':') continue;
    size_t end = i;
    while (end > 0 && (json[end - 1] == ' ' || json[end - 1] == '\t')) --end;
    if (end == 0 || json[end - 1] != '"') continue;
    const size_t close = end - 1;
    const size_t open = json.rfind('"', close == 0 ? 0 : close - 1);
    if (open == std::string_view::npos || open == close) continue;
    const std::string_view name = json.substr(open + 1, close - open - 1);
    if (name.find('\\') == std::string_view::npos && FirstInvalidUtf8(name) == name.size())
      return name;
    return {};
  }
  return {};
}

Status ParseError(simdjson::error_code err, std::string_view json) {
  if (err == simdjson::UTF8_ERROR) {
    const size_t at = FirstInvalidUtf8(json);
    const std::string_view field = FieldAround(json, at);
    return FieldError(field.empty() ? "record" : field,
                      fmt::format("invalid UTF-8 at byte {}", at));
  }
  if (err == simdjson::EMPTY) return FieldError("record", "empty input");
  return FieldError("record", fmt::format("malformed JSON ({})", simdjson::error_message(err)));
}

// True if s has a byte below 0x20 or DEL; 8 bytes at a time, the last word overlapping the one
// before it rather than copied out byte by byte.
bool HasControlByte(std::string_view s) {
  auto bad = [](uint64_t x) { return swar::BytesBelow(x, 0x20) | swar::BytesEqual(x, 0x7f); };
  if (s.size() < 8) {
    for (const char c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    }
    return false;
  }
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    if (bad(swar::Load(s.data() + i))) return true;
  }
  return i < s.size() && bad(swar::Load(s.data() + s.size() - 8));
}

// The length of a key up to its closing quote or first backslash. `key` points into the padded
// input, so whole words past the key's end are readable.
size_t KeyLength(const char* key) {
  for (size_t n = 0;; n += 8) {
    const uint64_t x = swar::Load(key + n);
    // The lowest flagged byte is the first match (only bytes above a match can be flagged falsely).
    if (const uint64_t m = swar::BytesEqual(x, '"') | swar::BytesEqual(x, '\\')) {
      return n + static_cast<size_t>(std::countr_zero(m)) / 8;
    }
  }
}

// A string value read in place when it holds no escape (most do: ids, names, timestamps), and
// unescaped by simdjson otherwise. The raw token points into the padded input.
bool StringValue(od::value& v, std::string_view& out) {
  const std::string_view token = v.raw_json_token();
  if (token.size() >= 2 && token[0] == '"') {
    const size_t n = KeyLength(token.data() + 1);
    if (token[1 + n] == '"') {
      out = token.substr(1, n);
      return true;
    }
  }
  return !v.get_string().get(out);
}

Status CheckRange(Field f, double v, double lo, double hi) {
  if (v < lo || v > hi) {
    return FieldError(kFields[f].name, fmt::format("{} is out of range {}..{}", v, lo, hi));
  }
  return Status::Ok();
}

// Reads two digits at p into out; false unless both are digits.
bool TwoDigits(const char* p, unsigned& out) {
  const unsigned a = static_cast<unsigned char>(p[0]) - '0';
  const unsigned b = static_cast<unsigned char>(p[1]) - '0';
  out = a * 10 + b;
  return a <= 9 && b <= 9;
}

// The microseconds after midnight of the common form "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (upper case
// T and Z, a fraction of 1 to 9 digits), or -1 for anything else. The date part is not checked.
int64_t TimeOfDayMicros(std::string_view s) {
  if (s.size() < 20 || s.size() > 30 || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return -1;
  }
  unsigned hour, minute, second;
  if (!TwoDigits(&s[11], hour) || !TwoDigits(&s[14], minute) || !TwoDigits(&s[17], second) ||
      hour > 23 || minute > 59 || second > 59) {
    return -1;
  }
  int64_t fraction = 0;
  if (s.size() > 20) {
    if (s[19] != '.' || s.size() == 21) return -1;
    int64_t scale = 100000;
    for (size_t i = 20; i + 1 < s.size(); ++i) {
      const unsigned d = static_cast<unsigned char>(s[i]) - '0';
      if (d > 9) return -1;
      fraction += d * scale;  // digits past the 6th have scale 0: truncated, as ParseRfc3339 does
      scale /= 10;
    }
  }
  return (hour * 3600 + minute * 60 + second) * int64_t{1000000} + fraction;
}

// The length of a string's text up to the first byte that is not plain printable ASCII: a quote, a
// backslash, a control byte, DEL or a byte of a multi-byte character. `s` points into padded input.
size_t PlainLength(const char* s) {
  for (size_t n = 0;; n += 8) {
    const uint64_t x = swar::Load(s + n);
    // As in KeyLength, the lowest flagged byte is the first match of each test.
    if (const uint64_t m = swar::BytesEqual(x, '"') | swar::BytesEqual(x, '\\') |
                           swar::BytesBelow(x, 0x20) | swar::BytesEqual(x, 0x7f) |
                           (x & swar::kHigh)) {
      return n + static_cast<size_t>(std::countr_zero(m)) / 8;
    }
  }
}

bool IsDigit(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c) - '0') <= 9u; }

const char* SkipDigits(const char* p, const char* end) {
  while (p < end && IsDigit(*p)) ++p;
  return p;
}

const char* SkipSpace(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

// The end of the JSON number at p (RFC 8259's grammar), or nullptr when p starts none.
const char* NumberEnd(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p == end || !IsDigit(*p)) return nullptr;
  p = *p == '0' ? p + 1 : SkipDigits(p, end);
  if (p < end && *p == '.') {
    const char* digits = p + 1;
    p = SkipDigits(digits, end);
    if (p == digits) return nullptr;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* digits = p;
    p = SkipDigits(digits, end);
    if (p == digits) return nullptr;
  }
  return p;
}

}  // namespace

struct RecordDecoder::Impl {
  explicit Impl(DecodeLimits l) : limits(l) {}

  // Values of the known fields of one record; string views point into the parser's buffers.
  struct Fields {
    Mask present = 0;  // seen at all, including as null (for duplicate detection)
    Mask set = 0;      // seen with a non-null value
    std::array<std::string_view, kFieldCount> str;
    std::array<double, kFieldCount> num{};
    int64_t seq = 0;
    int64_t timestamp = 0;
  };

  // Decodes into `out`, reusing its strings' buffers; `out` is unspecified after an error.
  Status DecodePadded(const char* data, size_t len, size_t capacity, Record& out);
  // The fast path, for records as producers write them: one flat object of known fields, each
  // once, strings of plain printable ASCII within the length limit, numbers and integers in JSON's
  // spelling, timestamps ParseTimestamp takes. Fills `f` and returns true for such a record, where
  // the general path (simdjson) would read the same fields; false for anything else, which the
  // general path then decodes or explains. Reads only [p, end) of padded input.
  bool ScanFlat(const char* p, const char* end, Fields& f);
  // Per-field steps return false with the reason in `error`: no Status is built on the happy path.
  bool ReadField(Field id, od::value v, Fields& f);
  bool AddExtra(std::string_view key, od::value v);
  // ParseRfc3339, with the result for the last date seen kept: a batch's timestamps share a few
  // dates, so the common "…Z" form only needs its time of day read.
  Result<int64_t> ParseTimestamp(std::string_view s);
  bool Fail(Status s) {
    error = std::move(s);
    return false;
  }
  Status Assemble(const Fields& f, Record& out);

  DecodeLimits limits;
  DecodePath path = DecodePath::kFast;
  // For ScanFlat: the key that followed each key (kFieldCount: the first) in the last record.
  std::array<Field, kFieldCount + 1> next_field = [] {
    std::array<Field, kFieldCount + 1> t{};
    t.fill(kUnknown);
    return t;
  }();
  od::parser parser;
  simdjson::dom::parser validator;  // full validation of unknown fields' values (rare path)
  std::string padded;  // input copied here with SIMDJSON_PADDING readable bytes after it
  std::string extra;   // unknown fields of the record being decoded, as a JSON object
  std::vector<std::string> extra_keys;
  Status error;
  std::array<char, 10> last_date{};  // "YYYY-MM-DD" of the last common-form timestamp parsed
  int64_t last_midnight = -1;        // its midnight in UTC microseconds; -1 before the first
};

Result<int64_t> RecordDecoder::Impl::ParseTimestamp(std::string_view s) {
  const int64_t time_of_day = TimeOfDayMicros(s);
  if (time_of_day >= 0 && last_midnight >= 0 &&
      std::memcmp(s.data(), last_date.data(), last_date.size()) == 0) {
    return last_midnight + time_of_day;
  }
  Result<int64_t> t = ParseRfc3339(s);
  if (t.ok() && time_of_day >= 0) {
    std::memcpy(last_date.data(), s.data(), last_date.size());
    last_midnight = *t - time_of_day;
  }
  return t;
}

bool RecordDecoder::Impl::ReadField(Field id, od::value v, Fields& f) {
  const std::string_view name = kFields[id].name;
  od::json_type type;
  if (v.type().get(type))
    return Fail(FieldError(name, "not a JSON value (NaN, Infinity and bare words are not JSON)"));
  if (type == od::json_type::null) {
    bool is_null = false;
    if (v.is_null().get(is_null) || !is_null) return Fail(FieldError(name, "malformed literal"));
    return true;  // null is the same as absent
  }
  const Kind kind = kFields[id].kind;
  const bool want_string = kind == Kind::kString || kind == Kind::kTimestamp;
  const od::json_type want = want_string ? od::json_type::string : od::json_type::number;
  if (type != want) {
    return Fail(FieldError(name, fmt::format("expected {}, got {}",
                                             kind == Kind::kTimestamp ? "an RFC 3339 string"
                                             : kind == Kind::kInteger ? "an integer"
                                             : want_string            ? "a string"
                                                                      : "a number",
                                             TypeName(type))));
  }
  switch (kind) {
    case Kind::kString: {
      std::string_view s;
      if (!StringValue(v, s)) return Fail(FieldError(name, "malformed string"));
      if (s.size() > limits.max_string_bytes) {
        return Fail(FieldError(name, fmt::format("longer than {} bytes", limits.max_string_bytes)));
      }
      if (HasControlByte(s)) return Fail(FieldError(name, "contains a control character"));
      f.str[id] = s;
      break;
    }
    case Kind::kTimestamp: {
      std::string_view s;
      if (!StringValue(v, s)) return Fail(FieldError(name, "malformed string"));
      Result<int64_t> t = ParseTimestamp(s);
      if (!t.ok()) return Fail(t.status().WithPrefix(fmt::format("{}: {}: ", name, Quote(s))));
      f.timestamp = *t;
      break;
    }
    case Kind::kNumber: {
      double d;
      if (v.get_double().get(d))
        return Fail(FieldError(name, "not a representable number (malformed or out of range)"));
      if (!std::isfinite(d)) return Fail(FieldError(name, "must be finite"));
      f.num[id] = d;
      break;
    }
    case Kind::kInteger: {
      int64_t i;
      if (v.get_int64().get(i)) {
        // simdjson says INCORRECT_TYPE both for 1.5 and for 2^64; tell them apart for the message.
        od::number_type nt;
        const bool big_integer =
            !v.get_number_type().get(nt) && nt != od::number_type::floating_point_number;
        return Fail(FieldError(name, big_integer ? "integer out of range" : "expected an integer"));
      }
      f.seq = i;
      break;
    }
  }
  f.set |= Bit(id);
  return true;
}

bool RecordDecoder::Impl::ScanFlat(const char* p, const char* end, Fields& f) {
  p = SkipSpace(p, end);
  if (p == end || *p != '{') return false;
  Field previous = kFieldCount;
  do {
    p = SkipSpace(p + 1, end);
    if (p == end || *p != '"') return false;
    ++p;
    // Records of a stream share a layout: the key that followed this one last time is tried first.
    Field id = next_field[previous];
    if (id == kUnknown || !KeyIs(p, id)) {
      const size_t key_len = PlainLength(p);
      if (p + key_len >= end || p[key_len] != '"') return false;
      id = Lookup(std::string_view(p, key_len));
      if (id == kUnknown) return false;
      next_field[previous] = id;
    }
    if (f.present & Bit(id)) return false;
    previous = id;
    p += kFields[id].name.size();
    if (p >= end) return false;
    p = SkipSpace(p + 1, end);
    if (p == end || *p != ':') return false;
    p = SkipSpace(p + 1, end);
    if (p == end) return false;
    switch (kFields[id].kind) {
      case Kind::kString:
      case Kind::kTimestamp: {
        if (*p != '"') return false;
        const size_t n = PlainLength(++p);
        if (p + n >= end || p[n] != '"' || n > limits.max_string_bytes) return false;
        const std::string_view s(p, n);
        if (kFields[id].kind == Kind::kString) {
          f.str[id] = s;
        } else {
          Result<int64_t> t = ParseTimestamp(s);
          if (!t.ok()) return false;
          f.timestamp = *t;
        }
        p += n + 1;
        break;
      }
      case Kind::kNumber: {
        const char* number_end = NumberEnd(p, end);
        double d;
        if (number_end == nullptr) return false;
        const auto [ptr, ec] = std::from_chars(p, number_end, d);
        if (ec != std::errc() || ptr != number_end || !std::isfinite(d)) return false;
        f.num[id] = d;
        p = number_end;
        break;
      }
      case Kind::kInteger: {
        // Non-negative, without a leading zero, and short enough that it cannot overflow.
        const char* digits_end = SkipDigits(p, end);
        const auto digits = digits_end - p;
        if (digits == 0 || digits > 18 || (*p == '0' && digits > 1)) return false;
        int64_t seq = 0;
        for (; p < digits_end; ++p) seq = seq * 10 + (*p - '0');
        f.seq = seq;
        break;
      }
    }
    f.present |= Bit(id);
    f.set |= Bit(id);
    p = SkipSpace(p, end);
  } while (p < end && *p == ',');
  if (p == end || *p != '}') return false;
  return SkipSpace(p + 1, end) == end;
}

bool RecordDecoder::Impl::AddExtra(std::string_view key, od::value v) {
  if (extra_keys.size() >= limits.max_extra_fields) {
    return Fail(
        FieldError("record", fmt::format("more than {} unknown fields", limits.max_extra_fields)));
  }
  for (const auto& k : extra_keys) {
    if (k == key) return Fail(FieldError(key, "duplicate field"));
  }
  od::json_type type;
  if (v.type().get(type)) return Fail(FieldError(key, "malformed value"));
  std::string_view raw;
  simdjson::error_code err = simdjson::SUCCESS;
  if (type == od::json_type::object) {
    od::object o;
    err = v.get_object().get(o);
    if (!err) err = o.raw_json().get(raw);
  } else if (type == od::json_type::array) {
    od::array a;
    err = v.get_array().get(a);
    if (!err) err = a.raw_json().get(raw);
  } else {
    raw = v.raw_json_token();
  }
  // On-Demand only checks what it reads; an unknown field is kept, so check it in full. Kept
  // minified: the raw text may hold whitespace and newlines (pretty-printed input), which must not
  // reach NDJSON output.
  if (err || validator.parse(raw.data(), raw.size(), true).error()) {
    return Fail(FieldError(key, "malformed value (numbers must fit a double or a 64-bit integer)"));
  }
  extra.push_back(extra.empty() ? '{' : ',');
  AppendJsonString(key, extra);
  extra.push_back(':');
  const size_t at = extra.size();
  extra.resize(at + raw.size());
  size_t minified = 0;
  if (simdjson::minify(raw.data(), raw.size(), extra.data() + at, minified)) {
    return Fail(FieldError(key, "malformed value"));
  }
  extra.resize(at + minified);
  extra_keys.emplace_back(key);
  return true;
}

Status RecordDecoder::Impl::DecodePadded(const char* data, size_t len, size_t capacity,
                                         Record& out) {
  const std::string_view json(data, len);
  if (len > limits.max_record_bytes) {
    return FieldError(
        "record", fmt::format("{} bytes exceeds the {}-byte limit", len, limits.max_record_bytes));
  }
  if (path == DecodePath::kFast) {
    Fields flat;
    if (ScanFlat(data, data + len, flat)) {
      extra.clear();
      return Assemble(flat, out);
    }
  }
  od::document doc;
  if (auto err = parser.iterate(data, len, capacity).get(doc)) return ParseError(err, json);
  od::json_type type;
  if (auto err = doc.type().get(type)) return ParseError(err, json);
  if (type != od::json_type::object) {
    return FieldError("record", fmt::format("expected a JSON object, got {}", TypeName(type)));
  }
  od::object obj;
  if (auto err = doc.get_object().get(obj)) {
    // simdjson refuses an object whose last token is not its '}' here, before reading it.
    const size_t last = json.find_last_not_of(" \t\r\n");
    if (err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT && last != std::string_view::npos &&
        json[last] != '}') {
      return FieldError("record", "unexpected content after the JSON object");
    }
    return ParseError(err, json);
  }

  Fields f;
  extra.clear();
  extra_keys.clear();
  for (auto field_result : obj) {
    od::field field;
    if (auto err = std::move(field_result).get(field)) return ParseError(err, json);
    // Most keys have no escapes: read them in place, and unescape (through simdjson) only when
    // needed.
    const char* raw_key = reinterpret_cast<const char*>(field.key().raw());
    const size_t key_len = KeyLength(raw_key);
    std::string_view key(raw_key, key_len);
    if (raw_key[key_len] == '\\' && field.unescaped_key().get(key)) {
      return FieldError("record", "malformed field name");
    }
    const Field id = Lookup(key);
    if (id == kUnknown) {
      if (!AddExtra(key, field.value())) return error;
      continue;
    }
    if (f.present & Bit(id)) return FieldError(key, "duplicate field");
    f.present |= Bit(id);
    if (!ReadField(id, field.value(), f)) return error;
  }
  // current_location() is out of bounds exactly when nothing follows the object.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return FieldError("record", "unexpected content after the JSON object");
  }
  if (!extra.empty()) extra.push_back('}');
  return Assemble(f, out);
}

Status RecordDecoder::Impl::Assemble(const Fields& f, Record& out) {
  if (!(f.set & Bit(kSourceType))) return FieldError("source_type", "missing (required)");
  const std::string_view st = f.str[kSourceType];
  const bool sensor = st == "sensor";
  if (!sensor && st != "cooling") {
    return FieldError(
        "source_type",
        fmt::format("unknown value {} (expected \"sensor\" or \"cooling\")", Quote(st)));
  }
  const std::string_view kind = sensor ? "sensor" : "cooling";
  const Mask allowed = sensor ? kSensorAllowed : kCoolingAllowed;
  const Mask required = sensor ? kSensorRequired : kCoolingRequired;
  if (const Mask stray = f.present & ~allowed) {
    return FieldError(kFields[std::countr_zero(stray)].name,
                      fmt::format("not a field of {} records", kind));
  }
  if (const Mask missing = required & ~f.set) {
    return FieldError(kFields[std::countr_zero(missing)].name,
                      fmt::format("missing (required for {} records)", kind));
  }
  for (Field id : {kDeviceId, kLocation, kMeasurementType, kSystemId}) {
    if ((required & Bit(id)) && f.str[id].empty())
      return FieldError(kFields[id].name, "must not be empty");
  }
  if ((f.set & Bit(kSeq)) && f.seq < 0) return FieldError("seq", "must not be negative");
  auto optional = [&](Field id) -> std::optional<double> {
    return f.set & Bit(id) ? std::optional<double>(f.num[id]) : std::nullopt;
  };
  auto common = [&](auto& r) {
    r.timestamp_micros = f.timestamp;
    r.seq = f.set & Bit(kSeq) ? std::optional<int64_t>(f.seq) : std::nullopt;
    r.placement.site.assign(f.str[kSite]);
    r.placement.room.assign(f.str[kRoom]);
    r.placement.row.assign(f.str[kRow]);
    r.placement.rack.assign(f.str[kRack]);
    r.extra.assign(extra);
  };
  if (sensor) {
    // Assigning into an existing record reuses its string buffers.
    auto* s = std::get_if<SensorReading>(&out);
    if (!s) s = &out.emplace<SensorReading>();
    s->device_id.assign(f.str[kDeviceId]);
    s->location.assign(f.str[kLocation]);
    s->measurement_type.assign(f.str[kMeasurementType]);
    s->value = f.num[kValue];
    s->unit.assign(f.str[kUnit]);
    s->position.assign(f.str[kPosition]);
    common(*s);
    return Status::Ok();
  }
  for (auto [id, lo, hi] : {std::tuple{kEfficiency, 0.0, 100.0}, std::tuple{kFanSpeed, 0.0, 100.0},
                            std::tuple{kPower, 0.0, HUGE_VAL}}) {
    if (f.set & Bit(id)) {
      if (auto st = CheckRange(id, f.num[id], lo, hi); !st.ok()) return st;
    }
  }
  auto* c = std::get_if<CoolingMetric>(&out);
  if (!c) c = &out.emplace<CoolingMetric>();
  c->system_id.assign(f.str[kSystemId]);
  c->efficiency_percent = f.num[kEfficiency];
  c->power_consumption_watts = f.num[kPower];
  c->supply_air_temp_celsius = optional(kSupplyTemp);
  c->return_air_temp_celsius = optional(kReturnTemp);
  c->fan_speed_percent = optional(kFanSpeed);
  common(*c);
  return Status::Ok();
}

RecordDecoder::RecordDecoder(DecodeLimits limits, DecodePath path)
    : impl_(std::make_unique<Impl>(limits)) {
  impl_->path = path;
}
RecordDecoder::~RecordDecoder() = default;
RecordDecoder::RecordDecoder(RecordDecoder&&) noexcept = default;
RecordDecoder& RecordDecoder::operator=(RecordDecoder&&) noexcept = default;

Result<Record> RecordDecoder::Decode(std::string_view json) {
  Record record;
  if (Status st = DecodeInto(json, record); !st.ok()) return st;
  return record;
}

Status RecordDecoder::DecodeInto(std::string_view json, Record& out) {
  if (json.size() > impl_->limits.max_record_bytes) {  // before copying a huge body
    return FieldError("record", fmt::format("{} bytes exceeds the {}-byte limit", json.size(),
                                            impl_->limits.max_record_bytes));
  }
  // The copy gives simdjson its padding, zeroed as a fresh buffer's would be (an unterminated
  // number must not run into an earlier record's bytes). The buffer only grows.
  std::string& buf = impl_->padded;
  if (buf.size() < json.size() + simdjson::SIMDJSON_PADDING)
    buf.resize(json.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buf.data(), json.data(), json.size());
  std::memset(buf.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  return impl_->DecodePadded(buf.data(), json.size(), buf.size(), out);
}

void RecordDecoder::DecodeNdjson(std::string_view input, NdjsonBatch& out, int64_t first_line) {
  std::string& buf = impl_->padded;
  buf.assign(input);
  buf.resize(input.size() + simdjson::SIMDJSON_PADDING);
  const size_t max_bytes = impl_->limits.max_record_bytes;
  int64_t line_no = first_line - 1;
  size_t pos = 0;
  while (pos < input.size()) {
    ++line_no;
    const char* nl =
        static_cast<const char*>(std::memchr(buf.data() + pos, '\n', input.size() - pos));
    const size_t end = nl ? static_cast<size_t>(nl - buf.data()) : input.size();
    size_t len = end - pos;
    if (len > 0 && buf[pos + len - 1] == '\r') --len;
    const std::string_view line(buf.data() + pos, len);
    const size_t start = pos;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    ++out.lines;
    Status st =
        impl_->DecodePadded(line.data(), len, buf.size() - start, out.records.emplace_back());
    if (!st.ok()) {
      out.records.pop_back();
      out.rejects.push_back({line_no, st.WithPrefix(fmt::format("line {}: ", line_no)).message(),
                             std::string(line.substr(0, max_bytes))});
    }
  }
}

void AppendRecordJson(const Record& record, std::string& out) {
  JsonWriter w(out);
  auto string = [&w](const JsonKey& key, std::string_view value) {
    w.Key(key);
    w.String(value);
  };
  auto number = [&w](const JsonKey& key, double value) {
    w.Key(key);
    w.Double(value);
  };
  // Absent optional fields are left out, not written as null.
  auto optional_string = [&](const JsonKey& key, const std::string& value) {
    if (!value.empty()) string(key, value);
  };
  auto optional_number = [&](const JsonKey& key, const std::optional<double>& value) {
    if (value) number(key, *value);
  };
  auto common_tail = [&](const std::optional<int64_t>& seq, const Placement& p) {
    if (seq) {
      w.Key("seq");
      w.Int(*seq);
    }
    optional_string("site", p.site);
    optional_string("room", p.room);
    optional_string("row", p.row);
    optional_string("rack", p.rack);
  };
  w.BeginObject();
  if (const auto* s = std::get_if<SensorReading>(&record)) {
    string("source_type", "sensor");
    string("device_id", s->device_id);
    string("location", s->location);
    string("measurement_type", s->measurement_type);
    number("value", s->value);
    w.Key("timestamp");
    w.Timestamp(s->timestamp_micros);
    optional_string("unit", s->unit);
    common_tail(s->seq, s->placement);
    optional_string("position", s->position);
    w.Members(s->extra);
  } else {
    const auto& c = std::get<CoolingMetric>(record);
    string("source_type", "cooling");
    string("system_id", c.system_id);
    number("efficiency_percent", c.efficiency_percent);
    number("power_consumption_watts", c.power_consumption_watts);
    w.Key("timestamp");
    w.Timestamp(c.timestamp_micros);
    common_tail(c.seq, c.placement);
    optional_number("supply_air_temp_celsius", c.supply_air_temp_celsius);
    optional_number("return_air_temp_celsius", c.return_air_temp_celsius);
    optional_number("fan_speed_percent", c.fan_speed_percent);
    w.Members(c.extra);
  }
  w.EndObject();
}

SensorJsonTemplate::SensorJsonTemplate(SensorReading fixed) {
  // Encode with placeholders, then cut around them. Only a string value could hold the same
  // characters, and the encoder escapes the quotes such a match would need.
  fixed.value = 0;
  fixed.timestamp_micros = 0;
  fixed.seq = 0;
  const std::string json = RecordToJson(fixed);
  constexpr std::string_view kValue = "\"value\":0";
  constexpr std::string_view kTimestamp = ",\"timestamp\":\"1970-01-01T00:00:00Z\"";
  constexpr std::string_view kSeq = ",\"seq\":0";
  const size_t value = json.find(kValue);
  const size_t timestamp = value == std::string::npos ? value : json.find(kTimestamp, value);
  const size_t seq = timestamp == std::string::npos ? timestamp : json.find(kSeq, timestamp);
  CHECK(timestamp == value + kValue.size() && seq != std::string::npos,
        "SensorJsonTemplate does not match AppendRecordJson's layout: {}", json);
  const size_t after_timestamp = timestamp + kTimestamp.size();
  before_value_ = json.substr(0, value + kValue.size() - 1);
  before_timestamp_ = ",\"timestamp\":\"";
  before_seq_ = "\"" + json.substr(after_timestamp, seq + kSeq.size() - 1 - after_timestamp);
  after_seq_ = json.substr(seq + kSeq.size());
}

void SensorJsonTemplate::Append(double value, int64_t timestamp_micros, int64_t seq,
                                std::string& out) const {
  const size_t old = out.size();
  out.resize(old + before_value_.size() + before_timestamp_.size() + before_seq_.size() +
             after_seq_.size() + kJsonNumberMaxLength + kRfc3339MaxLength + 24);
  char* p = out.data() + old;
  auto put = [&p](const std::string& s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put(before_value_);
  p = WriteJsonNumber(value, p);
  put(before_timestamp_);
  p = WriteRfc3339(timestamp_micros, p);
  put(before_seq_);
  p = std::to_chars(p, p + 24, seq).ptr;
  put(after_seq_);
  out.resize(static_cast<size_t>(p - out.data()));
}

std::string RecordToJson(const Record& record) {
  std::string out;
  AppendRecordJson(record, out);
  return out;
}

}  // namespace dcmon
