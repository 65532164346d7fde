#include "store/points.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>

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
  size_t left() const { return in_.size(); }
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
    // Reserved up front (a point's vectors grew three times each), at most one entry per byte
    // left: a corrupt count cannot make it allocate more than the message's size.
    const uint64_t tags = in.Varint();
    p.tags.reserve(std::min<uint64_t>(tags, in.left()));
    for (uint64_t i = 0; in.ok() && i < tags; ++i) {
      std::string_view k = in.String();
      p.tags.emplace_back(k, in.String());
    }
    const uint64_t fields = in.Varint();
    p.fields.reserve(std::min<uint64_t>(fields, in.left()));
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

namespace {

// A point's series (its measurement and tags, in line order), hashed and compared in place: the
// batch's points are not copied to find their series.
struct SeriesHash {
  size_t operator()(const Point* p) const {
    size_t h = std::hash<std::string_view>()(p->measurement);
    for (const auto& [k, v] : p->tags) {
      h = h * 31 + std::hash<std::string_view>()(k);
      h = h * 31 + std::hash<std::string_view>()(v);
    }
    return h;
  }
};
struct SeriesEqual {
  bool operator()(const Point* a, const Point* b) const {
    return a->measurement == b->measurement && a->tags == b->tags;
  }
};

// A dictionary of `metrics` (metric_series, metric_fields): its values keyed densely from 1 in the
// order first stored, which is what lets the `metrics` view index lists by key (schema.cc).
struct Dictionary {
  const char* table;
  const char* key;
  const char* columns;  // the value columns, with their types
  const char* match;    // the value columns of `s` (stored) equal those of `b` (the batch's)
};
constexpr Dictionary kSeries = {"metric_series", "series_key",
                                "measurement VARCHAR, tags MAP(VARCHAR, VARCHAR)",
                                "s.measurement = b.measurement AND s.tags = b.tags"};
constexpr Dictionary kFields = {"metric_fields", "field_key", "field VARCHAR", "s.field = b.field"};

// The keys of the batch's `n` distinct values of `d`, by their index in the batch; values not
// stored yet get the next keys. `put(a, i)` sets value i's columns from column 1 on. The values go
// through a TEMP table and two statements per batch, so the writer keeps no dictionary in memory
// and a rolled-back batch takes its new keys with it.
template <typename Put>
Result<std::vector<int32_t>> Intern(Connection& conn, const Dictionary& d, size_t n, Put put) {
  const std::string staged = fmt::format("dcmon_batch_{}", d.table);
  if (Status s = conn.Execute(
          fmt::format("CREATE TEMP TABLE IF NOT EXISTS {} (local INTEGER, {})", staged, d.columns));
      !s.ok())
    return s;
  {
    Result<std::unique_ptr<Appender>> a = Appender::Open(conn, staged, "temp");
    if (!a.ok()) return a.status();
    for (size_t i = 0; i < n; ++i) {
      if (Status s = (*a)->NextRow(); !s.ok()) return s;
      (*a)->Value(0, static_cast<int32_t>(i));
      put(**a, i);
    }
    if (Status s = (*a)->Flush(); !s.ok()) return s;
  }
  if (Status s = conn.Execute(fmt::format(
          "INSERT INTO {0} SELECT (SELECT coalesce(max({1}), 0) FROM {0}) + row_number() OVER "
          "(ORDER BY b.local), b.* EXCLUDE (local) FROM temp.main.{2} b WHERE NOT EXISTS (SELECT 1 "
          "FROM {0} s WHERE {3})",
          d.table, d.key, staged, d.match));
      !s.ok())
    return s;
  Result<QueryResult> r = conn.Query(fmt::format(
      "SELECT b.local, s.{} FROM temp.main.{} b JOIN {} s ON {}", d.key, staged, d.table, d.match));
  if (!r.ok()) return r.status();
  std::vector<int32_t> keys(n, 0);
  for (size_t i = 0; i < r->rows(); ++i)
    keys[static_cast<size_t>(r->Int64(0, i))] = static_cast<int32_t>(r->Int64(1, i));
  if (r->rows() != n) {
    return Internal(fmt::format("{}: {} of the batch's {} values found after interning them",
                                d.table, r->rows(), n));
  }
  if (Status s = conn.Execute(fmt::format("DELETE FROM temp.main.{}", staged)); !s.ok()) return s;
  return keys;
}

}  // namespace

Result<int64_t> AppendPoints(Connection& conn, const std::vector<Point>& points,
                             int64_t ingest_micros, int64_t first_seq) {
  if (points.empty()) return int64_t{0};
  // The batch's distinct series and field keys, numbered in order of first sight.
  std::unordered_map<const Point*, int32_t, SeriesHash, SeriesEqual> series_index;
  std::vector<const Point*> series;
  std::vector<int32_t> series_of(points.size());
  std::unordered_map<std::string_view, int32_t> field_index;
  std::vector<std::string_view> fields;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    auto [s, added] = series_index.try_emplace(&p, static_cast<int32_t>(series.size()));
    if (added) series.push_back(&p);
    series_of[i] = s->second;
    for (const Field& f : p.fields) {
      if (field_index.try_emplace(f.key, static_cast<int32_t>(fields.size())).second)
        fields.push_back(f.key);
    }
  }
  Result<std::vector<int32_t>> series_keys =
      Intern(conn, kSeries, series.size(), [&](Appender& a, size_t i) {
        a.String(1, series[i]->measurement);
        a.StringMap(2, series[i]->tags);
      });
  if (!series_keys.ok()) return series_keys.status();
  Result<std::vector<int32_t>> field_keys =
      Intern(conn, kFields, fields.size(), [&](Appender& a, size_t i) { a.String(1, fields[i]); });
  if (!field_keys.ok()) return field_keys.status();

  Result<std::unique_ptr<Appender>> a = Appender::Open(conn, "metric_facts");
  if (!a.ok()) return a.status();
  Appender& out = **a;
  enum Column { kIngestSeq, kSeriesKey, kFieldKey, kTime, kValue, kText, kIngestTime };
  const duckdb_timestamp ingest{ingest_micros};
  int64_t rows = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    const int32_t series_key = (*series_keys)[series_of[i]];
    for (const Field& f : p.fields) {
      if (Status s = out.NextRow(); !s.ok()) return s;
      out.Value(kIngestSeq, first_seq + rows);
      out.Value(kSeriesKey, series_key);
      out.Value(kFieldKey, (*field_keys)[field_index.find(f.key)->second]);
      out.Value(kTime, duckdb_timestamp{p.time_micros});
      if (f.type == Field::kString) {
        out.Null(kValue);
        out.String(kText, f.text);
      } else {
        out.Value(kValue, f.number);
        out.Null(kText);
      }
      out.Value(kIngestTime, ingest);
      ++rows;
    }
  }
  if (Status s = out.Flush(); !s.ok()) return s;
  return rows;
}

}  // namespace dcmon::store
