#include "common/json_value.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace inferline {
namespace {

TEST(JsonValue, WritesDoublesInDecimalForm) {
  // Boost.JSON's own serializer gives "1.46E-1", "0E0" and "1E0" for these.
  EXPECT_EQ(SerializeJson(boost::json::value(0.146)), "0.146");
  EXPECT_EQ(SerializeJson(boost::json::value(0.0)), "0");
  EXPECT_EQ(SerializeJson(boost::json::value(1.0)), "1");
  EXPECT_EQ(SerializeJson(boost::json::value(-2.5)), "-2.5");
  // Shortest digits, but not in exponent form where a duration or a probability can land.
  EXPECT_EQ(SerializeJson(boost::json::value(2.3e-05)), "0.000023");
  EXPECT_EQ(SerializeJson(boost::json::value(1e-7)), "0.0000001");
  EXPECT_EQ(SerializeJson(boost::json::value(1234567.125)), "1234567.125");
  EXPECT_EQ(SerializeJson(boost::json::value(0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(SerializeJson(boost::json::value(-1.2345678901234567e-07)),
            "-0.00000012345678901234566");
  // Beyond that range the shorter form, so that no number runs to hundreds of digits.
  EXPECT_EQ(SerializeJson(boost::json::value(1e-300)), "1e-300");
  EXPECT_EQ(SerializeJson(boost::json::value(1e21)), "1e+21");
}

TEST(JsonValue, WritesEveryKindAndReadsBackEqual) {
  boost::json::value v = {
      {"null", nullptr},
      {"bool", true},
      {"int", -42},
      {"uint", uint64_t{18446744073709551615ULL}},
      {"double", 0.7},
      {"tiny", 1e-300},
      {"text", "quote \" backslash \\ newline \n tab \t bell \x07 caf\xc3\xa9"},
      {"array", {1, "two", nullptr, boost::json::array{}, boost::json::object{}}},
      {"nested", {{"k\"ey", {{"deeper", false}}}}},
  };
  std::string text = SerializeJson(v);
  EXPECT_EQ(boost::json::parse(text), v) << text;
  EXPECT_NE(text.find(R"("double":0.7,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(bell \u0007 café")"), std::string::npos) << text;
}

}  // namespace
}  // namespace inferline
