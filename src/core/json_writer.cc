// String escaping and number formatting for JsonWriter.
#include "core/json_writer.h"

#include <charconv>
#include <cmath>

#include "core/swar.h"
#include "core/time.h"

namespace dcmon {
namespace {

// True for bytes that need escaping inside a JSON string.
constexpr auto kNeedsEscape = [] {
  struct Table {
    bool v[256] = {};
  } t;
  for (int c = 0; c < 0x20; ++c) t.v[c] = true;
  t.v[static_cast<unsigned char>('"')] = true;
  t.v[static_cast<unsigned char>('\\')] = true;
  return t;
}();

bool WordNeedsEscape(uint64_t x) {
  return swar::BytesBelow(x, 0x20) | swar::BytesEqual(x, '"') | swar::BytesEqual(x, '\\');
}

// Index of the first byte at or after `i` that needs escaping, or s.size(); clean words are skipped
// whole.
size_t NextEscape(std::string_view s, size_t i) {
  for (; i + 8 <= s.size(); i += 8) {
    if (WordNeedsEscape(swar::Load(s.data() + i))) break;
  }
  if (i + 8 > s.size() && !WordNeedsEscape(swar::LoadPartial(s.data() + i, s.size() - i, 'x'))) {
    return s.size();
  }
  while (i < s.size() && !kNeedsEscape.v[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

// Whether some byte of `s` needs escaping: eight bytes at a time, the tail as an overlapping last
// word (a yes/no test may look at a byte twice); strings under eight bytes byte by byte.
bool NeedsEscape(std::string_view s) {
  const size_t n = s.size();
  if (n < 8) {
    bool any = false;
    for (char c : s) any |= kNeedsEscape.v[static_cast<unsigned char>(c)];
    return any;
  }
  uint64_t any = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) any |= WordNeedsEscape(swar::Load(s.data() + i));
  return (any | WordNeedsEscape(swar::Load(s.data() + n - 8))) != 0;
}

// Writes `s` quoted and escaped at dst, which has room for 6 * s.size() + 2 bytes; returns the new
// end.
char* EscapeTo(std::string_view s, char* dst) {
  *dst++ = '"';
  if (!NeedsEscape(s)) {                                   // the common case: one copy
    if (!s.empty()) std::memcpy(dst, s.data(), s.size());  // s.data() may be null when empty
    dst += s.size();
    *dst++ = '"';
    return dst;
  }
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = NextEscape(s, 0); i < s.size(); i = NextEscape(s, i + 1)) {
    std::memcpy(dst, s.data() + run, i - run);
    dst += i - run;
    run = i + 1;
    const auto c = static_cast<unsigned char>(s[i]);
    *dst++ = '\\';
    switch (c) {
      case '"':
        *dst++ = '"';
        break;
      case '\\':
        *dst++ = '\\';
        break;
      case '\n':
        *dst++ = 'n';
        break;
      case '\r':
        *dst++ = 'r';
        break;
      case '\t':
        *dst++ = 't';
        break;
      case '\b':
        *dst++ = 'b';
        break;
      case '\f':
        *dst++ = 'f';
        break;
      default: {
        constexpr char kHex[] = "0123456789abcdef";
        const char esc[5] = {'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        std::memcpy(dst, esc, 5);
        dst += 5;
      }
    }
  }
  std::memcpy(dst, s.data() + run, s.size() - run);
  dst += s.size() - run;
  *dst++ = '"';
  return dst;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string& out) {
  const size_t old = out.size();
  out.resize(old + 6 * s.size() + 2);
  out.resize(EscapeTo(s, out.data() + old) - out.data());
}

void JsonWriter::String(std::string_view s) {
  Separate();
  char* p = Reserve(6 * s.size() + 2);  // may move out_'s buffer: take the cursor first
  len_ = EscapeTo(s, p) - out_.data();
}

char* WriteJsonNumber(double v, char* dst) {
  if (!std::isfinite(v)) {
    std::memcpy(dst, "null", 4);
    return dst + 4;
  }
  return std::to_chars(dst, dst + kJsonNumberMaxLength, v).ptr;
}

void JsonWriter::Double(double v) {
  Separate();
  char* p = Reserve(kJsonNumberMaxLength);
  len_ = WriteJsonNumber(v, p) - out_.data();
}

char* WriteJsonInt(int64_t v, char* dst) {
  return std::to_chars(dst, dst + kJsonIntMaxLength, v).ptr;
}

void JsonWriter::Int(int64_t v) {
  Separate();
  char* p = Reserve(kJsonIntMaxLength);
  len_ = WriteJsonInt(v, p) - out_.data();
}

void JsonWriter::Timestamp(int64_t micros) {
  Separate();
  char* p = Reserve(kRfc3339MaxLength + 2);
  *p++ = '"';
  p = WriteRfc3339(micros, p);
  *p++ = '"';
  len_ = p - out_.data();
}

void JsonWriter::Members(std::string_view object_json) {
  if (object_json.size() <= 2) return;
  Separate();
  const std::string_view inner = object_json.substr(1, object_json.size() - 2);
  std::memcpy(Reserve(inner.size()), inner.data(), inner.size());
  len_ += inner.size();
}

}  // namespace dcmon
