#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace dcmon {
namespace {

TEST(JsonWriter, NestedCommas) {
  std::string out;
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
  EXPECT_EQ(out, R"({"a":1,"b":["x",{},null],"c":false,"d":1,"e":[2]})");
}

TEST(JsonWriter, EscapesStrings) {
  std::string out;
  AppendJsonString("q\"b\\n\n\t\r\b\f\x01\x1f é €", out);
  EXPECT_EQ(out, R"("q\"b\\n\n\t\r\b\f\u0001\u001f é €")");
}

TEST(JsonWriter, ShortestDoubles) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray();
  for (double d : {23.5, 16800.0, 0.1, -0.0, 1e21, 5e-324, std::numeric_limits<double>::max()}) w.Double(d);
  w.Double(std::nan(""));
  w.Double(HUGE_VAL);
  w.EndArray();
  EXPECT_EQ(out, "[23.5,16800,0.1,-0,1e+21,5e-324,1.7976931348623157e+308,null,null]");
}

TEST(JsonWriter, Timestamp) {
  std::string out;
  JsonWriter(out).Timestamp(1755794880LL * 1000000);
  EXPECT_EQ(out, R"("2025-08-21T16:48:00Z")");
}

}  // namespace
}  // namespace dcmon
