// The text rules: names act writes are valid UTF-8 without control characters; text act shows
// from files is escaped by one rule (act::printable), used by act-cli's info and its error messages alike.
#include <act/core/text.hpp>

#include <string>

#include <doctest/doctest.h>

using namespace std::string_literals;

TEST_CASE("name_problem accepts UTF-8 names and explains the first fault of others") {
  CHECK(act::name_problem("blk.12.post_attn_norm").empty());
  CHECK(act::name_problem("").empty());                                                // emptiness is the caller's rule
  CHECK(act::name_problem("schicht.\xc3\xa4.\xe2\x82\xac.\xf0\x9f\x98\x80").empty());  // ä, €, an emoji
  CHECK(act::name_problem("a b/c\\d\"e'").empty());

  // Three invalid UTF-8 sequences: a stray byte, an encoded surrogate, an overlong '/'.
  CHECK(act::name_problem("\xff") == "is not valid UTF-8 (byte 0xff at offset 0)");
  CHECK(act::name_problem("ok\xed\xa0\x80") == "is not valid UTF-8 (byte 0xed at offset 2)");
  CHECK(act::name_problem("\xc0\xaf") == "is not valid UTF-8 (byte 0xc0 at offset 0)");
  CHECK(act::name_problem("\xe2\x82") == "is not valid UTF-8 (byte 0xe2 at offset 0)");          // truncated
  CHECK(act::name_problem("\xf4\x90\x80\x80") == "is not valid UTF-8 (byte 0xf4 at offset 0)");  // past U+10FFFF
  CHECK(act::name_problem("\x80") == "is not valid UTF-8 (byte 0x80 at offset 0)");

  CHECK(act::name_problem("a\x1b]0;title\x07") == "holds the control character U+001B at offset 1");
  CHECK(act::name_problem("row\nforged") == "holds the control character U+000A at offset 3");
  CHECK(act::name_problem("tab\t") == "holds the control character U+0009 at offset 3");
  CHECK(act::name_problem("del\x7f") == "holds the control character U+007F at offset 3");
  CHECK(act::name_problem("c1\xc2\x9b") == "holds the control character U+009B at offset 2");  // CSI
  CHECK(act::name_problem("nul\0x"s) == "holds the control character U+0000 at offset 3");
}

TEST_CASE("check_name throws invalid_argument showing the name escaped") {
  CHECK_NOTHROW(act::check_name("site name", "blk.1"));
  CHECK_THROWS_WITH_AS(act::check_name("site name", "a\x1b[2J"),
                       "site name 'a\\x1b[2J' holds the control character U+001B at offset 1", act::invalid_argument);
  CHECK_THROWS_WITH_AS(act::check_name("site name", "\xff"),
                       "site name '\\xff' is not valid UTF-8 (byte 0xff at offset 0)", act::invalid_argument);
}

TEST_CASE("printable keeps UTF-8 and escapes every control character and invalid byte") {
  CHECK(act::printable("blk.1 \xc3\xa4\xe2\x82\xac") == "blk.1 \xc3\xa4\xe2\x82\xac");
  CHECK(act::printable("a\nb\tc") == "a\\nb\\tc");
  CHECK(act::printable("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");
  CHECK(act::printable("\r\x7f") == "\\x0d\\x7f");
  CHECK(act::printable("\xc2\x9b"
                       "31m") == "\\xc2\\x9b31m");  // C1 CSI, as UTF-8
  CHECK(act::printable("\x9b"
                       "31m") == "\\x9b31m");  // C1 CSI, as a raw byte
  CHECK(act::printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(act::printable("x\0y"s) == "x\\x00y");
  // Whatever goes in, nothing below 0x20 or at 0x7f..0x9f comes out, and UTF-8 stays UTF-8.
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string shown = act::printable(all);
  for (const char c : shown) CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
  CHECK(act::name_problem(shown).empty());
}
