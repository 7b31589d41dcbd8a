#include <act/detail/io/json.hpp>

#include <string>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

using act::detail::json_value;
using act::detail::parse_json;

TEST_CASE("json parses every value kind") {
  const json_value v = parse_json(R"( {"a": [1, -2, 3.5, true, false, null], "b": {"c": "d"}, "e": 1e3} )");
  REQUIRE(v.type == json_value::kind::object);
  CHECK(v.keys == std::vector<std::string>{"a", "b", "e"});
  const json_value& a = *v.find("a");
  REQUIRE(a.items.size() == 6);
  CHECK(a.items[0].is_uint);
  CHECK(a.items[0].uint_value == 1);
  CHECK(!a.items[1].is_uint);
  CHECK(a.items[1].int_value == -2);
  CHECK(!a.items[2].is_int);
  CHECK(a.items[2].number == 3.5);
  CHECK(a.items[3].boolean);
  CHECK(a.items[4].type == json_value::kind::boolean);
  CHECK(a.items[5].type == json_value::kind::null);
  CHECK(v.find("b")->find("c")->string == "d");
  CHECK(v.find("e")->number == 1000.0);
  CHECK(!v.find("e")->is_uint);  // exponent form is not an integer literal
  CHECK(v.find("zz") == nullptr);
}

TEST_CASE("json integers at the 64-bit limits") {
  CHECK(parse_json("18446744073709551615").uint_value == 18446744073709551615ull);
  CHECK(!parse_json("18446744073709551615").is_int);
  CHECK(parse_json("-9223372036854775808").int_value == std::numeric_limits<std::int64_t>::min());
  CHECK(parse_json("-0").is_uint);
  ACT_CHECK_ERROR(parse_json("18446744073709551616"), act::format_error, "does not fit in 64 bits");
  ACT_CHECK_ERROR(parse_json("-9223372036854775809"), act::format_error, "does not fit in 64 bits");
}

TEST_CASE("json string escapes, including \\u and surrogate pairs, decode to UTF-8") {
  CHECK(parse_json(R"("a\"b\\c\/d\b\f\n\r\t")").string == "a\"b\\c/d\b\f\n\r\t");
  CHECK(parse_json(R"("\u00e9\u2713")").string == "\xc3\xa9\xe2\x9c\x93");
  CHECK(parse_json(R"("\ud83d\ude00")").string == "\xf0\x9f\x98\x80");
  CHECK(parse_json("\"\xf0\x9f\x98\x80 raw\"").string == "\xf0\x9f\x98\x80 raw");
}

TEST_CASE("json escaper output parses back to the same string") {
  const std::string s = std::string("quote\" back\\ nl\n tab\t ctl\x01 del\x7f ") + "\xc3\xa9";
  const std::string quoted = act::detail::json_quote(s);
  CHECK(quoted.find('\n') == std::string::npos);
  CHECK(parse_json(quoted).string == s);
}

TEST_CASE("json rejects malformed text") {
  ACT_CHECK_ERROR(parse_json(""), act::format_error, "unexpected end of input");
  ACT_CHECK_ERROR(parse_json("{} x"), act::format_error, "unexpected characters after");
  ACT_CHECK_ERROR(parse_json(R"({"a":1,"a":2})"), act::format_error, "duplicate key 'a'");
  ACT_CHECK_ERROR(parse_json("[1,]"), act::format_error, "unexpected character");
  ACT_CHECK_ERROR(parse_json("{\"a\" 1}"), act::format_error, "expected ':'");
  ACT_CHECK_ERROR(parse_json("{1:2}"), act::format_error, "expected a string key");
  ACT_CHECK_ERROR(parse_json("[1 2]"), act::format_error, "expected ',' or ']'");
  ACT_CHECK_ERROR(parse_json("01"), act::format_error, "leading zeros");
  ACT_CHECK_ERROR(parse_json("1."), act::format_error, "expected a digit after '.'");
  ACT_CHECK_ERROR(parse_json("1e"), act::format_error, "expected a digit in exponent");
  ACT_CHECK_ERROR(parse_json("-"), act::format_error, "expected a digit");
  ACT_CHECK_ERROR(parse_json("tru"), act::format_error, "invalid literal");
  ACT_CHECK_ERROR(parse_json("\"abc"), act::format_error, "unterminated string");
  ACT_CHECK_ERROR(parse_json("\"a\nb\""), act::format_error, "control character");
  ACT_CHECK_ERROR(parse_json(R"("\x")"), act::format_error, "invalid escape");
  ACT_CHECK_ERROR(parse_json(R"("\u12")"), act::format_error, "\\u escape");
  ACT_CHECK_ERROR(parse_json(R"("\ud83d")"), act::format_error, "unpaired high surrogate");
  ACT_CHECK_ERROR(parse_json(R"("\ude00")"), act::format_error, "unpaired low surrogate");
  ACT_CHECK_ERROR(parse_json("\"\xed\xa0\x80\""), act::format_error, "invalid UTF-8");  // encoded surrogate
  ACT_CHECK_ERROR(parse_json("\"\xe2\x9c\""), act::format_error, "UTF-8");
  ACT_CHECK_ERROR(parse_json(std::string(65, '[') + std::string(65, ']')), act::format_error, "nesting deeper than 64");
  CHECK_NOTHROW(parse_json(std::string(63, '[') + std::string(63, ']')));
}
