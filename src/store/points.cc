#include "store/points.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>

#include "store/appender.h"

namespace dcmon::store {
namespace {

constexpr char kVersion = 1;

void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutSigned(int64_t v, std::string& out) {  // zigzag: small negatives stay small
  PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

void PutString(std::string_view s, std::string& out) {
  PutVarint(s.size(), out);
  out.append(s);
}

// Reads what PutVarint and friends wrote; any read past the end turns ok() false for good.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) break;
      const auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t Signed() {
    const uint64_t z = Varint();
    return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
  }
  std::string_view Bytes(uint64_t n) {
    if (n > in_.size()) {
      ok_ = false;
      return {};
    }
    const std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string_view String() { return Bytes(Varint()); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

void StartPointsMessage(std::string& out) {
  out.clear();
  out.push_back(kVersion);
}

void AppendPoint(const Point& p, std::string& out) {
  PutString(p.measurement, out);
  PutVarint(p.tags.size(), out);
  for (const auto& [k, v] : p.tags) {
    PutString(k, out);
    PutString(v, out);
  }
  PutVarint(p.fields.size(), out);
  for (const Field& f : p.fields) {
    PutString(f.key, out);
    out.push_back(static_cast<char>(f.type));
    switch (f.type) {
      case Field::kFloat: {
        const auto bits = std::bit_cast<uint64_t>(f.number);
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
        break;
      }
      case Field::kInteger:
        PutSigned(f.integer, out);
        break;
      case Field::kUnsigned:
        PutVarint(f.uinteger, out);
        break;
      case Field::kBoolean:
        out.push_back(f.boolean() ? 1 : 0);
        break;
      case Field::kString:
        PutString(f.text, out);
        break;
    }
  }
  PutSigned(p.time_micros, out);
}

Status DecodePointsMessage(std::string_view message, std::vector<Point>& out) {
  if (message.empty() || message.front() != kVersion) {
    return InvalidArgument(fmt::format("points message: expected version {}, got {}", int{kVersion},
                                       message.empty() ? -1 : int{message.front()}));
  }
  Reader in(message.substr(1));
  const size_t first = out.size();
  while (in.ok() && !in.done()) {
    Point& p = out.emplace_back();
    p.measurement = in.String();
    const uint64_t tags = in.Varint();
    for (uint64_t i = 0; in.ok() && i < tags; ++i) {
      std::string_view k = in.String();
      p.tags.emplace_back(k, in.String());
    }
    const uint64_t fields = in.Varint();
    for (uint64_t i = 0; in.ok() && i < fields; ++i) {
      Field& f = p.fields.emplace_back();
      f.key = in.String();
      const std::string_view type = in.Bytes(1);
      if (!in.ok()) break;
      switch (type[0]) {
        case Field::kFloat: {
          const std::string_view b = in.Bytes(8);
          uint64_t bits = 0;
          for (size_t j = 0; j < b.size(); ++j)
            bits |= static_cast<uint64_t>(static_cast<uint8_t>(b[j])) << (8 * j);
          f.type = Field::kFloat;
          f.number = std::bit_cast<double>(bits);
          break;
        }
        case Field::kInteger:
          f.type = Field::kInteger;
          f.integer = in.Signed();
          f.number = static_cast<double>(f.integer);
          break;
        case Field::kUnsigned:
          f.type = Field::kUnsigned;
          f.uinteger = in.Varint();
          f.number = static_cast<double>(f.uinteger);
          break;
        case Field::kBoolean: {
          const std::string_view b = in.Bytes(1);
          f.type = Field::kBoolean;
          f.number = !b.empty() && b[0] ? 1 : 0;
          break;
        }
        case Field::kString:
          f.type = Field::kString;
          f.text = in.String();
          break;
        default:
          out.resize(first);
          return InvalidArgument(
              fmt::format("points message: field \"{}\": unknown type {}", f.key, int{type[0]}));
      }
    }
    p.time_micros = in.Signed();
    if (in.ok() && p.fields.empty()) {
      out.resize(first);
      return InvalidArgument(
          fmt::format("points message: point \"{}\" has no fields", p.measurement));
    }
  }
  if (!in.ok()) {
    out.resize(first);
    return InvalidArgument("points message: truncated");
  }
  return Status::Ok();
}

Result<int64_t> AppendPoints(Connection& conn, const std::vector<Point>& points,
                             int64_t ingest_micros, int64_t first_seq) {
  if (points.empty()) return int64_t{0};
  Result<std::unique_ptr<Appender>> a = Appender::Open(conn, "metrics");
  if (!a.ok()) return a.status();
  Appender& out = **a;
  enum Column { kTime, kMeasurement, kTags, kField, kValue, kText, kIngestTime, kIngestSeq };
  int64_t rows = 0;
  for (const Point& p : points) {
    for (const Field& f : p.fields) {
      if (Status s = out.NextRow(); !s.ok()) return s;
      out.Value(kTime, p.time_micros);
      out.String(kMeasurement, p.measurement);
      out.StringMap(kTags, p.tags);
      out.String(kField, f.key);
      if (f.type == Field::kString) {
        out.Null(kValue);
        out.String(kText, f.text);
      } else {
        out.Value(kValue, f.number);
        out.Null(kText);
      }
      out.Value(kIngestTime, ingest_micros);
      out.Value(kIngestSeq, first_seq + rows);
      ++rows;
    }
  }
  if (Status s = out.Flush(); !s.ok()) return s;
  return rows;
}

}  // namespace dcmon::store
