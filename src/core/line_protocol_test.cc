#include "core/line_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace dcmon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int64_t kNow = 1755794880LL * 1000000;  // 2025-08-21T16:48:00Z

Point ParseOk(std::string_view line, Precision precision = Precision::kNanoseconds) {
  Point p;
  Status s = ParseLineProtocolLine(line, precision, kNow, p);
  EXPECT_TRUE(s.ok()) << line << ": " << s.message();
  return p;
}

std::string Error(std::string_view line, Precision precision = Precision::kNanoseconds) {
  Point p;
  Status s = ParseLineProtocolLine(line, precision, kNow, p);
  EXPECT_FALSE(s.ok()) << line << " parsed";
  EXPECT_EQ(s.code(), s.ok() ? StatusCode::kOk : StatusCode::kInvalidArgument);
  return s.message();
}

TEST(LineProtocol, TelegrafCpuLine) {
  Point p = ParseOk(
      "cpu,cpu=cpu-total,host=rack1-node07 usage_idle=97.5,usage_user=1.25,count=3i "
      "1755794880123456789");
  EXPECT_EQ(p.measurement, "cpu");
  EXPECT_THAT(p.tags, ElementsAre(Pair("cpu", "cpu-total"), Pair("host", "rack1-node07")));
  ASSERT_EQ(p.fields.size(), 3u);
  EXPECT_EQ(p.fields[0].key, "usage_idle");
  EXPECT_EQ(p.fields[0].type, Field::kFloat);
  EXPECT_EQ(p.fields[0].number, 97.5);
  EXPECT_EQ(p.fields[1].number, 1.25);
  EXPECT_EQ(p.fields[2].type, Field::kInteger);
  EXPECT_EQ(p.fields[2].integer, 3);
  EXPECT_EQ(p.fields[2].number, 3.0);
  EXPECT_EQ(p.time_micros, 1755794880123456);  // nanoseconds truncated
}

TEST(LineProtocol, MissingTimestampIsNow) {
  EXPECT_EQ(ParseOk("m v=1").time_micros, kNow);
  EXPECT_EQ(ParseOk("m v=1 ").time_micros, kNow);
  EXPECT_EQ(ParseOk("m,t=a v=1   ").time_micros, kNow);
  // Only spaces separate: a tab after the value is part of it, as in InfluxDB.
  EXPECT_EQ(Error("m,t=a v=1\t "), "field \"v\": invalid number \"1\\x09\"");
}

TEST(LineProtocol, Precisions) {
  EXPECT_EQ(ParseOk("m v=1 1755794880999999999", Precision::kNanoseconds).time_micros,
            1755794880999999);
  EXPECT_EQ(ParseOk("m v=1 1755794880123456", Precision::kMicroseconds).time_micros,
            1755794880123456);
  EXPECT_EQ(ParseOk("m v=1 1755794880123", Precision::kMilliseconds).time_micros, 1755794880123000);
  EXPECT_EQ(ParseOk("m v=1 1755794880", Precision::kSeconds).time_micros, kNow);
  EXPECT_EQ(ParseOk("m v=1 29263248", Precision::kMinutes).time_micros, kNow);
  EXPECT_EQ(ParseOk("m v=1 487720", Precision::kHours).time_micros, 487720LL * 3600 * 1000000);
  EXPECT_EQ(ParseOk("m v=1 0", Precision::kSeconds).time_micros, 0);
  EXPECT_EQ(ParseOk("m v=1 999", Precision::kNanoseconds).time_micros, 0);
}

TEST(LineProtocol, TimestampErrors) {
  EXPECT_EQ(Error("m v=1 abc"), "timestamp \"abc\": expected an integer");
  EXPECT_EQ(Error("m v=1 12.5"), "timestamp \"12.5\": expected an integer");
  EXPECT_EQ(Error("m v=1 -"), "timestamp \"-\": expected an integer");
  EXPECT_EQ(Error("m v=1 +5"), "timestamp \"+5\": expected an integer");
  EXPECT_EQ(Error("m v=1 1e9"), "timestamp \"1e9\": expected an integer");
  EXPECT_EQ(Error("m v=1 99999999999999999999"),
            "timestamp \"99999999999999999999\" (precision ns): out of range; InfluxDB takes "
            "1677-09-21T00:12:43.145224194Z to 2262-04-11T23:47:16.854775806Z");
  EXPECT_EQ(Error("m v=1 1 2"), "trailing garbage \"2\"");
  EXPECT_EQ(Error("m v=1 1755794880 x"), "trailing garbage \"x\"");
}

// InfluxDB's range is int64 nanoseconds less the values it keeps for itself (the two lowest, the
// highest), at every precision; beyond it, and when scaling a coarse precision overflows, a 400.
TEST(LineProtocol, TimestampsTakeInfluxDbsWholeRange) {
  EXPECT_EQ(ParseOk("m v=1 -1").time_micros, -1);  // floored: 1969-12-31T23:59:59.999999999Z
  EXPECT_EQ(ParseOk("m v=1 -1000").time_micros, -1);
  EXPECT_EQ(ParseOk("m v=1 -1001").time_micros, -2);
  EXPECT_EQ(ParseOk("m v=1 -0").time_micros, 0);
  EXPECT_EQ(ParseOk("m v=1 0005").time_micros, 0);
  EXPECT_EQ(ParseOk("m v=1 -9223372036854775806").time_micros, -9223372036854776LL);
  EXPECT_EQ(ParseOk("m v=1 9223372036854775806").time_micros, 9223372036854775LL);
  EXPECT_THAT(Error("m v=1 -9223372036854775807"), HasSubstr("(precision ns): out of range"));
  EXPECT_THAT(Error("m v=1 -9223372036854775808"), HasSubstr("(precision ns): out of range"));
  EXPECT_THAT(Error("m v=1 9223372036854775807"), HasSubstr("(precision ns): out of range"));
  EXPECT_EQ(ParseOk("m v=1 -1", Precision::kSeconds).time_micros, -1000000);
  EXPECT_EQ(ParseOk("m v=1 -86400", Precision::kSeconds).time_micros, -86400LL * 1000000);
  struct Edge {
    Precision precision;
    const char* name;
    int64_t last;  // the largest timestamp in range; -last is in range too, last + 1 is not
  };
  for (const Edge& e :
       {Edge{Precision::kMicroseconds, "us", 9223372036854775LL},
        Edge{Precision::kMilliseconds, "ms", 9223372036854LL},
        Edge{Precision::kSeconds, "s", 9223372036LL}, Edge{Precision::kMinutes, "m", 153722867LL},
        Edge{Precision::kHours, "h", 2562047LL}}) {
    const int64_t unit = e.precision == Precision::kMicroseconds   ? 1
                         : e.precision == Precision::kMilliseconds ? 1000
                         : e.precision == Precision::kSeconds      ? 1000000
                         : e.precision == Precision::kMinutes      ? 60000000
                                                                   : 3600000000LL;
    const std::string last = std::to_string(e.last);
    EXPECT_EQ(ParseOk("m v=1 " + last, e.precision).time_micros, e.last * unit) << e.name;
    EXPECT_EQ(ParseOk("m v=1 -" + last, e.precision).time_micros, -e.last * unit) << e.name;
    const std::string over = std::to_string(e.last + 1);
    EXPECT_EQ(Error("m v=1 " + over, e.precision),
              "timestamp \"" + over + "\" (precision " + e.name +
                  "): out of range; InfluxDB takes 1677-09-21T00:12:43.145224194Z to "
                  "2262-04-11T23:47:16.854775806Z");
    EXPECT_THAT(Error("m v=1 -" + over, e.precision), HasSubstr("out of range")) << e.name;
    // int64 itself, scaled: the multiplication overflows.
    EXPECT_THAT(Error("m v=1 9223372036854775807", e.precision), HasSubstr("out of range"));
    EXPECT_THAT(Error("m v=1 -9223372036854775808", e.precision), HasSubstr("out of range"));
  }
}

TEST(LineProtocol, FieldTypes) {
  Point p = ParseOk(
      "m f=1,g=-1.5,h=.5,e=1e3,E=-2.5E-3,ep=1e+2,dot=1.,i=-42i,u=42u,s=\"hi\",t=t,T=T,"
      "tr=true,Tr=True,TR=TRUE,fa=f,Fa=F,fal=false,Fal=False,FAL=FALSE");
  ASSERT_EQ(p.fields.size(), 20u);
  auto field = [&](std::string_view key) -> const Field& {
    for (const Field& f : p.fields) {
      if (f.key == key) return f;
    }
    ADD_FAILURE() << "no field " << key;
    return p.fields[0];
  };
  EXPECT_EQ(field("f").type, Field::kFloat);
  EXPECT_EQ(field("f").number, 1.0);
  EXPECT_EQ(field("g").number, -1.5);
  EXPECT_EQ(field("h").number, 0.5);
  EXPECT_EQ(field("e").number, 1000.0);
  EXPECT_EQ(field("E").number, -2.5e-3);
  EXPECT_EQ(field("ep").number, 100.0);
  EXPECT_EQ(field("dot").number, 1.0);
  EXPECT_EQ(field("i").type, Field::kInteger);
  EXPECT_EQ(field("i").integer, -42);
  EXPECT_EQ(field("u").type, Field::kUnsigned);
  EXPECT_EQ(field("u").uinteger, 42u);
  EXPECT_EQ(field("u").number, 42.0);
  EXPECT_EQ(field("s").type, Field::kString);
  EXPECT_EQ(field("s").text, "hi");
  for (const char* k : {"t", "T", "tr", "Tr", "TR"}) {
    EXPECT_EQ(field(k).type, Field::kBoolean) << k;
    EXPECT_TRUE(field(k).boolean()) << k;
    EXPECT_EQ(field(k).number, 1.0) << k;
  }
  for (const char* k : {"fa", "Fa", "fal", "Fal", "FAL"}) {
    EXPECT_EQ(field(k).type, Field::kBoolean) << k;
    EXPECT_FALSE(field(k).boolean()) << k;
  }
}

TEST(LineProtocol, IntegerLimits) {
  EXPECT_EQ(ParseOk("m v=9223372036854775807i").fields[0].integer,
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseOk("m v=-9223372036854775808i").fields[0].integer,
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseOk("m v=18446744073709551615u").fields[0].uinteger,
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Error("m v=9223372036854775808i"),
            "field \"v\": integer \"9223372036854775808i\" out of range");
  EXPECT_EQ(Error("m v=-9223372036854775809i"),
            "field \"v\": integer \"-9223372036854775809i\" out of range");
  EXPECT_EQ(Error("m v=18446744073709551616u"),
            "field \"v\": unsigned integer \"18446744073709551616u\" out of range");
  EXPECT_EQ(Error("m v=-1u"), "field \"v\": invalid unsigned integer \"-1u\"");
  EXPECT_EQ(Error("m v=1.5i"), "field \"v\": invalid integer \"1.5i\"");
  EXPECT_EQ(Error("m v=i"), "field \"v\": invalid integer \"i\"");
  EXPECT_EQ(Error("m v=-i"), "field \"v\": invalid integer \"-i\"");
  EXPECT_EQ(Error("m v=u"), "field \"v\": invalid unsigned integer \"u\"");
  EXPECT_EQ(Error("m v=+1i"), "field \"v\": invalid integer \"+1i\"");
}

TEST(LineProtocol, FloatErrors) {
  EXPECT_EQ(Error("m temp=1.2.3"), "field \"temp\": invalid number \"1.2.3\"");
  EXPECT_EQ(Error("m v=abc"), "field \"v\": invalid number \"abc\"");
  EXPECT_EQ(Error("m v=1e"), "field \"v\": invalid number \"1e\"");
  EXPECT_EQ(Error("m v=."), "field \"v\": invalid number \".\"");
  EXPECT_EQ(Error("m v=-"), "field \"v\": invalid number \"-\"");
  EXPECT_EQ(Error("m v=0x10"), "field \"v\": invalid number \"0x10\"");
  EXPECT_EQ(Error("m v=1_000"), "field \"v\": invalid number \"1_000\"");
  EXPECT_EQ(Error("m v=tRUE"), "field \"v\": invalid number \"tRUE\"");
  EXPECT_EQ(Error("m v=+1"), "field \"v\": invalid number \"+1\"");
  EXPECT_EQ(Error("m v=1\t"), "field \"v\": invalid number \"1\\x09\"");  // a tab is no separator
  for (const char* bad : {"NaN", "nan", "-nan", "Inf", "+Inf", "-inf", "infinity", "-Infinity"}) {
    EXPECT_THAT(Error(std::string("m v=") + bad), HasSubstr("NaN and infinities are not allowed"))
        << bad;
  }
  EXPECT_EQ(Error("m v=1e400"), "field \"v\": number \"1e400\" out of range");
  EXPECT_EQ(Error("m v=-1e400"), "field \"v\": number \"-1e400\" out of range");
  // Underflow is not an error: it rounds toward zero, as in InfluxDB.
  const double tiny = ParseOk("m v=1e-400").fields[0].number;
  EXPECT_TRUE(std::isfinite(tiny));
  EXPECT_LT(std::abs(tiny), 1e-300);
  EXPECT_EQ(Error("m v="), "field \"v\": missing value");
  EXPECT_EQ(Error("m v=,w=1"), "field \"v\": missing value");
}

TEST(LineProtocol, StringFields) {
  Point p =
      ParseOk(R"(m s="a \"quoted\" word",b="back\\slash",c="keep \n and \t",d="",e="x,y z=w")");
  ASSERT_EQ(p.fields.size(), 5u);
  EXPECT_EQ(p.fields[0].text, "a \"quoted\" word");
  EXPECT_EQ(p.fields[1].text, "back\\slash");
  EXPECT_EQ(p.fields[2].text, "keep \\n and \\t");  // only \" and \\ are escapes
  EXPECT_EQ(p.fields[3].text, "");
  EXPECT_EQ(p.fields[4].text, "x,y z=w");
  EXPECT_EQ(ParseOk(R"(m s="ends with backslash\\")").fields[0].text, "ends with backslash\\");
  EXPECT_EQ(ParseOk("m s=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"").fields[0].text,
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(Error(R"(m s="open)"), "field \"s\": unterminated string");
  EXPECT_EQ(Error(R"(m s="escaped end\")"), "field \"s\": unterminated string");
  EXPECT_EQ(Error(R"(m s="a"b)"), "field \"s\": unexpected \"b\" after the value");
  EXPECT_EQ(Error(R"(m s='single')"), "field \"s\": invalid number \"'single'\"");
}

TEST(LineProtocol, Escapes) {
  Point p = ParseOk(
      R"(my\ meas\,ure=x,tag\ key\,\==tag\ val\,\=ue,path=C:\dir field\ key\,\==1,k2="v" 1)");
  EXPECT_EQ(p.measurement, "my meas,ure=x");  // '=' needs no escape in a measurement
  EXPECT_THAT(p.tags, ElementsAre(Pair("tag key,=", "tag val,=ue"), Pair("path", R"(C:\dir)")));
  EXPECT_EQ(p.fields[0].key, "field key,=");
  EXPECT_EQ(Error(R"(m\ v=1)"), "no fields");  // the measurement is "m v=1"
}

// A backslash escapes ',' ' ' (and '=' outside the measurement) and nothing else: before any
// other byte, a backslash included, it is itself.
TEST(LineProtocol, EscapesInTheMeasurement) {
  EXPECT_EQ(ParseOk(R"(c\ pu v=1)").measurement, "c pu");
  EXPECT_EQ(ParseOk(R"(c\,pu v=1)").measurement, "c,pu");
  EXPECT_EQ(ParseOk(R"(c\=pu v=1)").measurement, R"(c\=pu)");
  EXPECT_EQ(ParseOk(R"(c\"pu v=1)").measurement, R"(c\"pu)");
  EXPECT_EQ(ParseOk(R"(c\\pu v=1)").measurement, R"(c\\pu)");
  EXPECT_EQ(ParseOk(R"(c\pu v=1)").measurement, R"(c\pu)");
  EXPECT_EQ(ParseOk(R"(cpu\\\ x v=1)").measurement, R"(cpu\\ x)");
  EXPECT_EQ(ParseOk(R"(c\\,t=a v=1)").measurement, R"(c\,t=a)");  // no tags: the comma is escaped
  EXPECT_EQ(Error(R"(cpu\\ v=1 5)"), "field \"5\": missing \"=\"");  // measurement "cpu\\ v=1"
  EXPECT_EQ(ParseOk("m\\ \\  v=1").measurement, "m  ");
}

TEST(LineProtocol, EscapesInTags) {
  // The issue's cases, checked against influxd 1.6.
  EXPECT_THAT(ParseOk(R"(cpu,regions=\\ east value=1.0)").tags,
              ElementsAre(Pair("regions", R"(\ east)")));
  EXPECT_THAT(ParseOk(R"(cpu,host=two\\\ words value=1)").tags,
              ElementsAre(Pair("host", R"(two\\ words)")));
  EXPECT_THAT(ParseOk(R"(cpu,t\ k=a\ b v=1)").tags, ElementsAre(Pair("t k", "a b")));
  EXPECT_THAT(ParseOk(R"(cpu,t\,k=a\,b v=1)").tags, ElementsAre(Pair("t,k", "a,b")));
  EXPECT_THAT(ParseOk(R"(cpu,t\=k=a\=b v=1)").tags, ElementsAre(Pair("t=k", "a=b")));
  EXPECT_THAT(ParseOk(R"(cpu,t\"k=a\"b v=1)").tags, ElementsAre(Pair(R"(t\"k)", R"(a\"b)")));
  EXPECT_THAT(ParseOk(R"(cpu,t\\k=a\\b v=1)").tags, ElementsAre(Pair(R"(t\\k)", R"(a\\b)")));
  EXPECT_THAT(ParseOk(R"(cpu,t=a\b\c v=1)").tags, ElementsAre(Pair("t", R"(a\b\c)")));
  EXPECT_THAT(ParseOk(R"(cpu,t="a" v=1)").tags, ElementsAre(Pair("t", R"("a")")));
  EXPECT_THAT(ParseOk(R"(cpu,a=\\,b v=1)").tags, ElementsAre(Pair("a", R"(\,b)")))
      << "'\\' before ',' escapes it whatever precedes the backslash";
  // A value ending in a backslash escapes the space after it: the line runs on.
  EXPECT_EQ(Error(R"(cpu,t=x\ v=1)"), "tag \"t\": unescaped \"=\" in value");
  EXPECT_EQ(Error(R"(cpu,t=x\\ v=1)"), "tag \"t\": unescaped \"=\" in value");
  EXPECT_EQ(Error(R"(cpu,t=\ v=1)"), "tag \"t\": unescaped \"=\" in value");
}

TEST(LineProtocol, EscapesInFieldKeys) {
  EXPECT_EQ(ParseOk(R"(m f\ k=1)").fields[0].key, "f k");
  EXPECT_EQ(ParseOk(R"(m f\,k=1)").fields[0].key, "f,k");
  EXPECT_EQ(ParseOk(R"(m f\=k=1)").fields[0].key, "f=k");
  EXPECT_EQ(ParseOk(R"(m f\"k=1)").fields[0].key, R"(f\"k)");
  EXPECT_EQ(ParseOk(R"(m f\\k=1)").fields[0].key, R"(f\\k)");
  EXPECT_EQ(ParseOk(R"(m f\k=1)").fields[0].key, R"(f\k)");
  EXPECT_EQ(ParseOk(R"(m a\\\=b=1)").fields[0].key, R"(a\\=b)");
}

TEST(LineProtocol, EscapesInStringValues) {
  EXPECT_EQ(ParseOk(R"(m s="a\\b")").fields[0].text, R"(a\b)");
  EXPECT_EQ(ParseOk(R"(m s="a\\\\")").fields[0].text, R"(a\\)");
  EXPECT_EQ(ParseOk(R"(m s="a\\")").fields[0].text, R"(a\)");
  EXPECT_EQ(ParseOk(R"(m s="a\"b")").fields[0].text, R"(a"b)");
  EXPECT_EQ(ParseOk(R"(m s="\n\t\r\x\,\=\ ")").fields[0].text, R"(\n\t\r\x\,\=\ )");
  EXPECT_EQ(ParseOk(R"(m s="a\\\"b")").fields[0].text, R"(a\"b)");
  EXPECT_EQ(Error(R"(m s="a\\" b")"), "timestamp \"b\\\"\": expected an integer");
  LineProtocolBatch b =
      ParseLineProtocol("m s=\"ends\\\\\"\nm v=2\n", Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.points.size(), 2u) << "\"\\\\\" closes the string";
  EXPECT_EQ(b.points[0].fields[0].text, "ends\\");
}

// Control characters are refused where they would make a name no one can type or print;
// tag values and string fields keep them, as InfluxDB does.
TEST(LineProtocol, ControlCharactersInNamesAreRefused) {
  EXPECT_EQ(Error("c\x01pu v=1"), "measurement \"c\\x01pu\": control characters are not allowed");
  EXPECT_EQ(Error("cpu\x7f v=1"), "measurement \"cpu\\x7f\": control characters are not allowed");
  EXPECT_EQ(Error("cpu\tx v=1"), "measurement \"cpu\\x09x\": control characters are not allowed");
  EXPECT_EQ(Error(std::string("c\0pu v=1", 8)),
            "measurement \"c\\x00pu\": control characters are not allowed");
  EXPECT_EQ(Error("cpu,t\x1fk=a v=1"), "tag key \"t\\x1fk\": control characters are not allowed");
  EXPECT_EQ(Error("cpu f\x01k=1"), "field key \"f\\x01k\": control characters are not allowed");
  EXPECT_EQ(Error("cpu f\\\x01k=1"),
            "field key \"f\\\\\\x01k\": control characters are not allowed");
  EXPECT_THAT(ParseOk("cpu,t=a\x01\tb v=1").tags, ElementsAre(Pair("t", "a\x01\tb")));
  EXPECT_EQ(ParseOk("cpu s=\"a\x01\tb\"").fields[0].text, "a\x01\tb");
}

TEST(LineProtocol, RepeatedFieldsKeepTheLastValue) {
  Point p = ParseOk("m v=1,v=2");
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_EQ(p.fields[0].number, 2.0);
  p = ParseOk("m a=1,v=1,b=2,v=3,s=\"x\",s=\"y\",v=4");
  ASSERT_EQ(p.fields.size(), 4u);
  EXPECT_EQ(p.fields[0].key, "a");
  EXPECT_EQ(p.fields[1].key, "v");
  EXPECT_EQ(p.fields[1].number, 4.0);
  EXPECT_EQ(p.fields[2].key, "b");
  EXPECT_EQ(p.fields[3].text, "y");
  EXPECT_EQ(Error("m v=1,v=2i"), "field \"v\": repeated with another type (float, then integer)");
  EXPECT_EQ(Error("m v=t,v=\"t\""),
            "field \"v\": repeated with another type (boolean, then string)");
}

TEST(LineProtocol, StructureErrors) {
  EXPECT_EQ(Error("m"), "no fields");
  EXPECT_EQ(Error("m "), "no fields");
  EXPECT_EQ(Error("m,t=a"), "no fields");
  EXPECT_EQ(Error("m,t=a "), "no fields");
  EXPECT_EQ(Error(",t=a v=1"), "measurement: empty");
  EXPECT_EQ(Error("m,=a v=1"), "tag key: empty");
  EXPECT_EQ(Error("m,t v=1"), "tag \"t\": missing \"=\"");
  EXPECT_EQ(Error("m,t= v=1"), "tag \"t\": empty value");
  EXPECT_EQ(Error("m,t=a, v=1"), "tag key: empty");
  EXPECT_EQ(Error("m,t=a=b v=1"), "tag \"t\": unescaped \"=\" in value");
  EXPECT_EQ(Error("m,t=a,t=b v=1"), "tag \"t\": repeated");
  EXPECT_EQ(Error("m v"), "field \"v\": missing \"=\"");
  EXPECT_EQ(Error("m =1"), "field key: empty");
  EXPECT_EQ(Error("m v=1,"), "field key: empty");
  EXPECT_EQ(Error("m v=1,,w=2"), "field key: empty");
  EXPECT_EQ(Error("m v=1 2 3"), "trailing garbage \"3\"");
}

TEST(LineProtocol, ManyTagsAndFieldsFindRepeats) {
  std::string line = "m";
  for (int i = 0; i < 40; ++i) line += ",t" + std::to_string(i) + "=v";
  line += ",t7=again f0=0";
  for (int i = 1; i < 40; ++i) line += ",f" + std::to_string(i) + "=" + std::to_string(i);
  EXPECT_EQ(Error(line), "tag \"t7\": repeated");
  line.replace(line.find(",t7=again"), 9, "");
  EXPECT_EQ(ParseOk(line).fields.size(), 40u);
  Point p = ParseOk(line + ",f39=-1,f0=-2");
  ASSERT_EQ(p.fields.size(), 40u);
  EXPECT_EQ(p.fields[0].number, -2.0);
  EXPECT_EQ(p.fields[39].number, -1.0);
  EXPECT_EQ(Error(line + ",f39=1i"),
            "field \"f39\": repeated with another type (float, then integer)");
}

TEST(LineProtocol, InvalidUtf8IsRejectedEverywhere) {
  EXPECT_EQ(Error("m\xff v=1"), "measurement \"m\\xff\": invalid UTF-8");
  EXPECT_EQ(Error("m,\xc3\x28=a v=1"), "tag key \"\\xc3(\": invalid UTF-8");
  EXPECT_EQ(Error("m,t=\xed\xa0\x80 v=1"), "tag \"t\": value is not valid UTF-8");  // surrogate
  EXPECT_EQ(Error("m \xc0\xaf=1"), "field key \"\\xc0\\xaf\": invalid UTF-8");      // overlong
  EXPECT_EQ(Error("m s=\"ok \xf4\x90\x80\x80\""),
            "field \"s\": string value is not valid UTF-8");  // above U+10FFFF
  EXPECT_EQ(Error("m s=\"cut \xe2\x82\""), "field \"s\": string value is not valid UTF-8");
}

TEST(LineProtocol, SingleLineApiRefusesBlankCommentsAndNewlines) {
  EXPECT_EQ(Error(""), "blank line");
  EXPECT_EQ(Error("  \t"), "blank line");
  EXPECT_EQ(Error("# comment"), "comment");
  EXPECT_EQ(Error("m v=1\nm v=2"), "newline outside a string field");
  EXPECT_EQ(ParseOk("m v=1\r").fields[0].number, 1.0);
  EXPECT_EQ(ParseOk("m s=\"two\nlines\"").fields[0].text, "two\nlines");
}

TEST(LineProtocol, ReusedPointDropsStaleTagsAndFields) {
  Point p;
  ASSERT_TRUE(
      ParseLineProtocolLine("a,x=1,y=2 f=1,g=2,h=\"s\" 5", Precision::kSeconds, kNow, p).ok());
  ASSERT_TRUE(ParseLineProtocolLine("b z=true", Precision::kSeconds, kNow, p).ok());
  EXPECT_EQ(p.measurement, "b");
  EXPECT_TRUE(p.tags.empty());
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_EQ(p.fields[0].type, Field::kBoolean);
  EXPECT_EQ(p.time_micros, kNow);
}

TEST(LineProtocolBody, LinesCommentsBlanksAndErrorsWithLineNumbers) {
  const std::string body =
      "# written by telegraf\n"                     // 1
      "cpu,host=a usage=1.5 1755794880000000000\n"  // 2
      "\n"                                          // 3
      "cpu,host=b temp=1.2.3\n"                     // 4
      "   \t\n"                                     // 5
      "  mem,host=a used=10i\r\n"                   // 6: leading blanks, CRLF
      "  # indented comment\r\n"                    // 7
      "disk free=\n"                                // 8
      "net bytes=7u";                               // 9: no final newline
  LineProtocolBatch b = ParseLineProtocol(body, Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.points.size(), 3u);
  EXPECT_EQ(b.points[0].measurement, "cpu");
  EXPECT_EQ(b.points[0].time_micros, kNow);
  EXPECT_EQ(b.points[1].measurement, "mem");
  EXPECT_EQ(b.points[1].fields[0].integer, 10);
  EXPECT_EQ(b.points[1].time_micros, kNow);
  EXPECT_EQ(b.points[2].fields[0].uinteger, 7u);
  ASSERT_EQ(b.errors.size(), 2u);
  EXPECT_EQ(b.errors[0].line, 4);
  EXPECT_EQ(b.errors[0].status.message(), "line 4: field \"temp\": invalid number \"1.2.3\"");
  EXPECT_EQ(b.errors[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.errors[1].line, 8);
  EXPECT_EQ(b.errors[1].status.message(), "line 8: field \"free\": missing value");
}

TEST(LineProtocolBody, EmptyBodies) {
  for (std::string_view body : {"", "\n", "\r\n", "\n\n# only comments\n"}) {
    LineProtocolBatch b = ParseLineProtocol(body, Precision::kNanoseconds, kNow);
    EXPECT_TRUE(b.points.empty());
    EXPECT_TRUE(b.errors.empty());
  }
}

TEST(LineProtocolBody, StringFieldsMayHoldNewlines) {
  const std::string body =
      "log msg=\"first\nsecond, with = and \\\" quote\n\",n=1i 1\n"  // lines 1-3
      "m v=1\n"                                                      // 4
      "m v=bad\n";                                                   // 5
  LineProtocolBatch b = ParseLineProtocol(body, Precision::kSeconds, kNow);
  ASSERT_EQ(b.points.size(), 2u);
  EXPECT_EQ(b.points[0].fields[0].text, "first\nsecond, with = and \" quote\n");
  EXPECT_EQ(b.points[0].fields[1].integer, 1);
  EXPECT_EQ(b.points[0].time_micros, 1000000);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].line, 5);
}

TEST(LineProtocolBody, IndentedLinesKeepMultiLineStrings) {
  LineProtocolBatch b =
      ParseLineProtocol(" \tm s=\"a\nb\"\nm v=1\n", Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.errors.size(), 0u) << b.errors[0].status.message();
  ASSERT_EQ(b.points.size(), 2u);
  EXPECT_EQ(b.points[0].fields[0].text, "a\nb");
}

TEST(LineProtocolBody, QuotesInCommentsOpenNothing) {
  LineProtocolBatch b =
      ParseLineProtocol("# a=\"x\nm v=1\n  # b s=\"y\nm v=2\n", Precision::kNanoseconds, kNow);
  EXPECT_TRUE(b.errors.empty());
  ASSERT_EQ(b.points.size(), 2u);
  EXPECT_EQ(b.points[1].fields[0].number, 2.0);
}

TEST(LineProtocolBody, QuotesOutsideFieldValuesDoNotOpenStrings) {
  const std::string body =
      "m,t=\"x v=1\n"  // a quote in a tag value is just a byte
      "m v=1\"\n"      // ... and in an unquoted value it is an invalid number
      "m v=2\n";
  LineProtocolBatch b = ParseLineProtocol(body, Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.points.size(), 2u);
  EXPECT_THAT(b.points[0].tags, ElementsAre(Pair("t", "\"x")));
  EXPECT_EQ(b.points[1].fields[0].number, 2.0);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].line, 2);
}

TEST(LineProtocolBody, UnterminatedStringTakesTheRestOfTheBody) {
  LineProtocolBatch b =
      ParseLineProtocol("m v=1\nm s=\"open\nm v=2\n", Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.points.size(), 1u);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].status.message(), "line 2: field \"s\": unterminated string");
}

TEST(LineProtocolBody, LongLinesAreRejected) {
  std::string ok = "m s=\"" + std::string(kMaxLineProtocolLineBytes - 6, 'x') + "\"";
  ASSERT_EQ(ok.size(), kMaxLineProtocolLineBytes);
  std::string too_long = "m s=\"" + std::string(kMaxLineProtocolLineBytes, 'x') + "\"";
  LineProtocolBatch b =
      ParseLineProtocol(ok + "\n" + too_long + "\nm v=1\n", Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.points.size(), 2u);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].line, 2);
  EXPECT_EQ(b.errors[0].status.message(), "line 2: line too long (65542 bytes, limit 65536)");
}

TEST(LineProtocolBody, ErrorMessagesCutLongValuesAndStayValidUtf8) {
  LineProtocolBatch b =
      ParseLineProtocol("m v=" + std::string(1000, 'z') + "\xff\n", Precision::kNanoseconds, kNow);
  ASSERT_EQ(b.errors.size(), 1u);
  const std::string& msg = b.errors[0].status.message();
  EXPECT_LT(msg.size(), 120u);
  EXPECT_THAT(msg, HasSubstr("...\""));
  for (char c : msg) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
}

TEST(Precision, V1AndV2Spellings) {
  struct Case {
    const char* param;
    LineProtocolApi api;
    Precision want;
  };
  for (const Case& c : {
           Case{"", LineProtocolApi::kV1, Precision::kNanoseconds},
           Case{"n", LineProtocolApi::kV1, Precision::kNanoseconds},
           Case{"ns", LineProtocolApi::kV1, Precision::kNanoseconds},
           Case{"u", LineProtocolApi::kV1, Precision::kMicroseconds},
           Case{"us", LineProtocolApi::kV1, Precision::kMicroseconds},
           Case{"ms", LineProtocolApi::kV1, Precision::kMilliseconds},
           Case{"s", LineProtocolApi::kV1, Precision::kSeconds},
           Case{"m", LineProtocolApi::kV1, Precision::kMinutes},
           Case{"h", LineProtocolApi::kV1, Precision::kHours},
           Case{"", LineProtocolApi::kV2, Precision::kNanoseconds},
           Case{"ns", LineProtocolApi::kV2, Precision::kNanoseconds},
           Case{"us", LineProtocolApi::kV2, Precision::kMicroseconds},
           Case{"ms", LineProtocolApi::kV2, Precision::kMilliseconds},
           Case{"s", LineProtocolApi::kV2, Precision::kSeconds},
       }) {
    Result<Precision> r = ParsePrecision(c.param, c.api);
    ASSERT_TRUE(r.ok()) << c.param << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.param;
  }
  EXPECT_EQ(ParsePrecision("n", LineProtocolApi::kV2).status().message(),
            "precision \"n\": expected one of ns, us, ms, s");
  EXPECT_EQ(ParsePrecision("h", LineProtocolApi::kV2).status().message(),
            "precision \"h\": expected one of ns, us, ms, s");
  EXPECT_EQ(ParsePrecision("MS", LineProtocolApi::kV1).status().message(),
            "precision \"MS\": expected one of n, u, ms, s, m, h");
  EXPECT_EQ(ParsePrecision("x", LineProtocolApi::kV1).status().code(),
            StatusCode::kInvalidArgument);
}

// Mutated lines must never crash or trip the sanitizers, and every verdict must hold up:
// accepted points are well-formed, errors carry the right line and a valid-UTF-8 message.
TEST(LineProtocolFuzz, MutatedLinesNeverCrash) {
  const std::vector<std::string> seeds = {
      "cpu,host=a,region=eu-west usage=1.5,count=3i,ok=true,name=\"x y\" 1755794880000000000",
      R"(my\ m\,e,t\ k\,\==v\ a\,l\= f\ k="s \"q\" \\ e",u=18446744073709551615u 1)",
      "m s=\"multi\nline\",i=-9223372036854775808i,f=-1.5e-3",
      "# comment\n\nm v=1\r\n",
      "caf\xc3\xa9,t=\xe2\x82\xac v=1e308",
  };
  const std::string alphabet = ",= \\\"\n\r\t#iu.-+e0123456789tfTFaz\xff\xc3\xa9";
  const uint64_t seed = 20260828;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int iteration = 0; iteration < 10000; ++iteration) {
    std::string s = seeds[rng() % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 6);
    for (int m = 0; m < mutations; ++m) {
      const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0:  // insert
          s.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:  // delete
          if (at < s.size()) s.erase(at, 1 + rng() % 3);
          break;
        case 2:  // replace
          if (at < s.size()) s[at] = alphabet[rng() % alphabet.size()];
          break;
        case 3:  // random byte
          if (at < s.size()) s[at] = static_cast<char>(rng());
          break;
        default:  // truncate
          s.resize(at);
          break;
      }
    }
    const std::string body = s + (rng() % 2 ? "\n" : "") + s;
    LineProtocolBatch b = ParseLineProtocol(body, Precision::kNanoseconds, kNow);
    for (const Point& p : b.points) {
      ASSERT_FALSE(p.measurement.empty()) << body;
      ASSERT_FALSE(p.fields.empty()) << body;
      ASSERT_GE(p.time_micros, kMinLineProtocolNanos / 1000 - 1) << body;
      ASSERT_LE(p.time_micros, kMaxLineProtocolNanos / 1000) << body;
      for (const char c : p.measurement) ASSERT_FALSE(c >= 0 && c < 0x20) << body;
      for (const Field& f : p.fields) {
        if (f.type != Field::kString) {
          ASSERT_TRUE(std::isfinite(f.number)) << body;
        }
      }
    }
    for (const LineError& e : b.errors) {
      ASSERT_GE(e.line, 1) << body;
      ASSERT_THAT(e.status.message(), ::testing::StartsWith("line " + std::to_string(e.line)));
    }
    Point p;
    (void)ParseLineProtocolLine(s, Precision::kSeconds, kNow, p);
  }
}

}  // namespace
}  // namespace dcmon
