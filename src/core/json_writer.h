// JsonWriter: the one way dcmon writes JSON. Appends compact JSON to a caller-owned std::string, inserting
// commas itself; doubles in shortest round-trip form, strings escaped per RFC 8259. Not thread-safe; cheap to
// construct, so make one per document.
//
//   std::string out;
//   JsonWriter w(out);
//   w.BeginObject();
//   w.Key("value"); w.Double(23.5);
//   w.Key("tags"); w.BeginArray(); w.String("a\"b"); w.EndArray();
//   w.EndObject();                           // {"value":23.5,"tags":["a\"b"]}
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace dcmon {

// Appends `s` as a quoted JSON string. Expects valid UTF-8 (decoders guarantee it); escapes '"', '\\' and
// control characters.
void AppendJsonString(std::string_view s, std::string& out);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(std::string_view k) {
    Separate();
    AppendJsonString(k, out_);
    out_.push_back(':');
    after_key_ = true;
  }
  void String(std::string_view s) {
    Separate();
    AppendJsonString(s, out_);
  }
  // Finite doubles in the shortest form that parses back to the same bits; NaN and infinities as null.
  void Double(double v);
  void Int(int64_t v) {
    Separate();
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void Bool(bool v) {
    Separate();
    out_ += v ? "true" : "false";
  }
  void Null() {
    Separate();
    out_ += "null";
  }
  // An RFC 3339 UTC timestamp string from UTC microseconds.
  void Timestamp(int64_t micros);
  // Splices the members of an already-serialised JSON object ("{...}") into the object being written.
  void Members(std::string_view object_json) {
    if (object_json.size() <= 2) return;
    Separate();
    out_.append(object_json.substr(1, object_json.size() - 2));
  }

 private:
  void Separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (need_comma_) {
      out_.push_back(',');
    }
    need_comma_ = true;
  }
  void Open(char c) {
    Separate();
    out_.push_back(c);
    need_comma_ = false;
  }
  void Close(char c) {
    out_.push_back(c);
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace dcmon
