// JsonWriter: the one way dcmon writes JSON. Appends compact JSON to a caller-owned std::string,
// inserting commas itself; doubles in shortest round-trip form, strings escaped per RFC 8259. Not
// thread-safe; cheap to construct, so make one per document. It writes through a raw cursor into
// `out` and trims `out` to what was written when destroyed: read `out` after the writer's scope
// ends.
//
//   std::string out;
//   {
//     JsonWriter w(out);
//     w.BeginObject();
//     w.Key("value"); w.Double(23.5);
//     w.Key("tags"); w.BeginArray(); w.String("a\"b"); w.EndArray();
//     w.EndObject();
//   }                                        // out == {"value":23.5,"tags":["a\"b"]}
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace dcmon {

// Appends `s` as a quoted JSON string. Expects valid UTF-8 (decoders guarantee it); escapes '"',
// '\\' and control characters.
void AppendJsonString(std::string_view s, std::string& out);

// Writes a JSON number at dst (room for kJsonNumberMaxLength bytes): finite doubles in the shortest
// form that parses back to the same bits, NaN and infinities as null. Returns the new end.
inline constexpr size_t kJsonNumberMaxLength = 32;
char* WriteJsonNumber(double v, char* dst);
// Writes an integer at dst (room for kJsonIntMaxLength bytes); returns the new end.
inline constexpr size_t kJsonIntMaxLength = 20;
char* WriteJsonInt(int64_t v, char* dst);

// A key known at compile time, stored already quoted with its colon ("key":) in a fixed-size
// buffer, so that writing it is one fixed-size copy. The constructor runs at compile time and
// refuses a key that would need escaping or is too long.
class JsonKey {
 public:
  static constexpr size_t kCapacity = 32;

  consteval JsonKey(const char* key) {  // NOLINT(google-explicit-constructor)
    size_t n = 0;
    quoted_[n++] = '"';
    for (const char* p = key; *p; ++p) {
      if (*p == '"' || *p == '\\' || static_cast<unsigned char>(*p) < 0x20) KeyNeedsEscaping();
      if (n + 2 >= kCapacity) KeyTooLong();
      quoted_[n++] = *p;
    }
    quoted_[n++] = '"';
    quoted_[n++] = ':';
    size_ = n;
  }
  const char* quoted() const { return quoted_; }
  size_t size() const { return size_; }

 private:
  // Not constexpr: calling either makes the constructor ill-formed, so a bad key does not compile.
  static void KeyNeedsEscaping() {}
  static void KeyTooLong() {}
  char quoted_[kCapacity] = {};
  size_t size_ = 0;
};

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out), start_(out.size()), len_(out.size()) {}
  ~JsonWriter() { out_.resize(len_); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(const JsonKey& k) {
    // A key never follows a key: only the comma is in question, written or not without a branch.
    char* p = Reserve(JsonKey::kCapacity + 1);
    *p = ',';
    p += need_comma_;
    std::memcpy(p, k.quoted(), JsonKey::kCapacity);
    len_ = static_cast<size_t>(p - out_.data()) + k.size();
    need_comma_ = true;
    after_key_ = true;
  }
  // A key known only at run time (a tag name, a check's name), escaped like a string.
  void DynamicKey(std::string_view k) {
    String(k);
    Byte(':');
    after_key_ = true;
  }
  void String(std::string_view s);
  // Finite doubles in the shortest form that parses back to the same bits; NaN and infinities as
  // null.
  void Double(double v);
  void Int(int64_t v);
  void Bool(bool v) { Literal(v ? std::string_view("true") : std::string_view("false")); }
  void Null() { Literal("null"); }
  // An RFC 3339 UTC timestamp string from UTC microseconds.
  void Timestamp(int64_t micros);
  // Splices the members of an already-serialised JSON object ("{...}") into the object being
  // written.
  void Members(std::string_view object_json);
  // A value the caller writes itself at a raw cursor, for hot loops that splice JSON rendered
  // earlier by a JsonWriter between numbers written with WriteJsonNumber and WriteJsonInt:
  // `write(char* at)` writes at most `max_size` bytes of one valid JSON value and returns the end.
  template <typename Write>
  void RawValue(size_t max_size, Write&& write) {
    Separate();
    char* p = Reserve(max_size);
    len_ = static_cast<size_t>(write(p) - out_.data());
  }

 private:
  // Room for n more bytes at the cursor; returns the cursor.
  char* Reserve(size_t n) {
    // Grows by what this writer has written so far (at least 512 bytes): a large document resizes
    // (and zero-fills) a few times, not every few rows, and a small one appended to a large buffer
    // never pays for the buffer's size.
    if (len_ + n > out_.size()) out_.resize(len_ + n + std::max(len_ - start_, size_t{512}));
    return out_.data() + len_;
  }
  void Byte(char c) {
    *Reserve(1) = c;
    ++len_;
  }
  void Literal(std::string_view s) {
    Separate();
    std::memcpy(Reserve(s.size()), s.data(), s.size());
    len_ += s.size();
  }
  void Separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (need_comma_) {
      Byte(',');
    }
    need_comma_ = true;
  }
  void Open(char c) {
    Separate();
    Byte(c);
    need_comma_ = false;
  }
  void Close(char c) {
    Byte(c);
    need_comma_ = true;
  }

  std::string& out_;
  size_t start_;  // out_'s size when the writer began
  size_t len_;    // bytes of out_ written; out_ beyond it is scratch until the destructor trims it
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace dcmon
