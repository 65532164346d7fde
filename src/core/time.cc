// RFC 3339 <-> int64 UTC microseconds, with civil-date arithmetic after H. Hinnant's algorithms.
#include "core/time.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace dcmon {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

// Days since 1970-01-01 of a proleptic Gregorian date.
constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};

constexpr Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned DaysInMonth(int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(DaysFromCivil(2200, 1, 1) * 86400 * kMicrosPerSecond == kMaxTimestampMicros);

// Reads exactly n digits at text[pos]; false if any is not a digit.
bool Digits(std::string_view text, size_t pos, size_t n, unsigned& out) {
  if (pos + n > text.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned c = static_cast<unsigned char>(text[pos + i]) - '0';
    if (c > 9) return false;
    v = v * 10 + c;
  }
  out = v;
  return true;
}

Status Bad(std::string_view why) {
  return InvalidArgument(fmt::format("not an RFC 3339 timestamp: {}", why));
}

}  // namespace

Result<int64_t> ParseRfc3339(std::string_view s) {
  unsigned year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 5 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s.size() < 8 || s[7] != '-' || !Digits(s, 8, 2, day)) {
    return Bad("expected a date YYYY-MM-DD");
  }
  if (s.size() < 11 || (s[10] != 'T' && s[10] != 't')) return Bad("expected 'T' after the date");
  if (!Digits(s, 11, 2, hour) || s.size() < 14 || s[13] != ':' || !Digits(s, 14, 2, minute) ||
      s.size() < 17 || s[16] != ':' || !Digits(s, 17, 2, second)) {
    return Bad("expected a time HH:MM:SS");
  }
  if (month < 1 || month > 12) return Bad("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return Bad("day out of range for the month");
  if (hour > 23) return Bad("hour out of range");
  if (minute > 59) return Bad("minute out of range");
  if (second == 60) return Bad("leap seconds are not supported");
  if (second > 59) return Bad("second out of range");

  size_t pos = 19;
  int64_t fraction_micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++digits > 9) return Bad("fraction longer than 9 digits");
      fraction_micros += (s[pos] - '0') * scale;  // digits past the 6th have scale 0: truncated
      scale /= 10;
      ++pos;
    }
    if (digits == 0) return Bad("expected digits after '.'");
  }
  if (pos >= s.size()) return Bad("missing time zone (Z or ±HH:MM)");
  int64_t offset_seconds = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    unsigned oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om)) {
      return Bad("time zone offset must be ±HH:MM");
    }
    if (oh > 23 || om > 59) return Bad("time zone offset out of range");
    offset_seconds = (s[pos] == '+' ? 1 : -1) * static_cast<int64_t>(oh * 3600 + om * 60);
    pos += 6;
  } else {
    return Bad("missing time zone (Z or ±HH:MM)");
  }
  if (pos != s.size()) return Bad("unexpected characters after the time zone");

  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  const int64_t micros = seconds * kMicrosPerSecond + fraction_micros;
  if (micros < kMinTimestampMicros || micros >= kMaxTimestampMicros) {
    return InvalidArgument("out of range: must be from 1970-01-01 to before 2200-01-01");
  }
  return micros;
}

char* WriteRfc3339(int64_t micros, char* p) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t frac = micros % kMicrosPerSecond;
  if (frac < 0) {
    frac += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t sod = seconds % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  // Years outside 0..9999 cannot be written in RFC 3339; the accepted range is well inside.
  const Civil c =
      CivilFromDays(std::clamp<int64_t>(days, DaysFromCivil(0, 1, 1), DaysFromCivil(9999, 12, 31)));
  auto two = [&p](unsigned v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  two(static_cast<unsigned>(c.year / 100));
  two(static_cast<unsigned>(c.year % 100));
  *p++ = '-';
  two(c.month);
  *p++ = '-';
  two(c.day);
  *p++ = 'T';
  two(static_cast<unsigned>(sod / 3600));
  *p++ = ':';
  two(static_cast<unsigned>(sod / 60 % 60));
  *p++ = ':';
  two(static_cast<unsigned>(sod % 60));
  if (frac != 0) {
    *p++ = '.';
    const bool millis = frac % 1000 == 0;
    int64_t v = millis ? frac / 1000 : frac;
    const int n = millis ? 3 : 6;
    for (int i = n - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += n;
  }
  *p++ = 'Z';
  return p;
}

void AppendRfc3339(int64_t micros, std::string& out) {
  char buf[kRfc3339MaxLength];
  out.append(buf, WriteRfc3339(micros, buf));
}

std::string FormatRfc3339(int64_t micros) {
  std::string out;
  AppendRfc3339(micros, out);
  return out;
}

Result<std::chrono::microseconds> ParseDuration(std::string_view text) {
  const std::string_view digits = text.substr(0, text.find_first_not_of("0123456789"));
  const std::string_view unit = text.substr(digits.size());
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc()) {
    return InvalidArgument(
        fmt::format("expected a duration such as 10m, 90s or 0, got \"{}\"", text));
  }
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"us", 1}, {"ms", 1000}, {"s", 1000000}, {"m", 60000000}, {"h", 3600000000}};
  int64_t scale = unit.empty() && n == 0 ? 1 : 0;
  for (const auto& [name, micros] : kUnits) {
    if (unit == name) scale = micros;
  }
  if (scale == 0) {
    return InvalidArgument(
        fmt::format("expected a duration with a unit (us, ms, s, m, h), got \"{}\"", text));
  }
  if (n > INT64_MAX / scale)
    return InvalidArgument(fmt::format("duration \"{}\" is too long", text));
  return std::chrono::microseconds(n * scale);
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace dcmon
