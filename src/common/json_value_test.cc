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
  EXPECT_EQ(text.find('E'), std::string::npos) << text;  // no exponent for 0.7
  EXPECT_NE(text.find(R"(bell \u0007 café")"), std::string::npos) << text;
}

}  // namespace
}  // namespace inferline
