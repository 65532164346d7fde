#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace dcmon {
namespace {

TEST(JsonWriter, NestedCommas) {
  std::string out;
  {
    JsonWriter w(out);
    w.BeginObject();
    w.Key("a");
    w.Int(1);
    w.Key("b");
    w.BeginArray();
    w.String("x");
    w.BeginObject();
    w.EndObject();
    w.Null();
    w.EndArray();
    w.Key("c");
    w.Bool(false);
    w.Members(R"({"d":1,"e":[2]})");
    w.Members("{}");
    w.EndObject();
  }
  EXPECT_EQ(out, R"({"a":1,"b":["x",{},null],"c":false,"d":1,"e":[2]})");
}

TEST(JsonWriter, DynamicKeysAreEscapedAndSeparated) {
  std::string out;
  {
    JsonWriter w(out);
    w.BeginObject();
    w.DynamicKey("a\"b");
    w.Int(1);
    w.DynamicKey("c");
    w.BeginArray();
    w.EndArray();
    w.EndObject();
  }
  EXPECT_EQ(out, R"({"a\"b":1,"c":[]})");
}

TEST(JsonWriter, EscapesStrings) {
  std::string out;
  AppendJsonString("q\"b\\n\n\t\r\b\f\x01\x1f é €", out);
  EXPECT_EQ(out, R"("q\"b\\n\n\t\r\b\f\u0001\u001f é €")");
  // Long clean runs take the 8-bytes-at-a-time path; an escape at every offset of a word must still
  // be found.
  for (size_t at = 0; at < 20; ++at) {
    std::string s(20, 'x');
    s[at] = '"';
    out.clear();
    AppendJsonString(s, out);
    EXPECT_EQ(out, "\"" + std::string(at, 'x') + "\\\"" + std::string(19 - at, 'x') + "\"");
  }
  out.clear();
  AppendJsonString("\xc3\xa9\xe2\x82\xac\x7f\x80\xff\x1f",
                   out);  // high bytes are not control bytes
  EXPECT_EQ(out, "\"\xc3\xa9\xe2\x82\xac\x7f\x80\xff\\u001f\"");
}

TEST(JsonWriter, ShortestDoubles) {
  std::string out = "prefix ";
  {
    JsonWriter w(out);
    w.BeginArray();
    for (double d : {23.5, 16800.0, 0.1, -0.0, 1e21, 5e-324, std::numeric_limits<double>::max()})
      w.Double(d);
    w.Double(std::nan(""));
    w.Double(HUGE_VAL);
    w.EndArray();
  }
  EXPECT_EQ(out, "prefix [23.5,16800,0.1,-0,1e+21,5e-324,1.7976931348623157e+308,null,null]");
}

// A writer grows the buffer by what it writes, not by what the buffer already holds: small
// documents appended one by one to a large buffer (the Airbyte emitter, NDJSON output) must not
// each resize and zero-fill it to twice its size.
TEST(JsonWriter, SmallDocumentsOnALargeBufferDoNotGrowIt) {
  std::string out(1 << 20, 'x');
  out.reserve(out.size() + 64 * 1024);
  const size_t capacity = out.capacity();
  for (int i = 0; i < 100; ++i) {
    JsonWriter w(out);
    w.BeginObject();
    w.Key("value");
    w.Int(i);
    w.EndObject();
  }
  EXPECT_EQ(out.capacity(), capacity);
  EXPECT_EQ(out.substr(out.size() - 12), R"({"value":99})");
}

TEST(JsonWriter, Timestamp) {
  std::string out;
  JsonWriter(out).Timestamp(1755794880LL * 1000000 + 1000);
  EXPECT_EQ(out, R"("2025-08-21T16:48:00.001Z")");
}

}  // namespace
}  // namespace dcmon
