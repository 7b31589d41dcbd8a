// The control vector act writes, read back with the library's generic GGUF parser (act::detail): split
// from the round-trip case of tests/io/test_gguf.cpp so that tests of the public readers call no detail code.
#include <act/detail/io/file.hpp>
#include <act/io/gguf.hpp>

#include <string>

#include <doctest/doctest.h>

#include "gguf_test_util.hpp"
#include "io_test_util.hpp"

using act_test::sample_vector;
using act_test::scratch_dir;

TEST_CASE("gguf control vector round trip: the generic structure is what llama.cpp expects") {
  scratch_dir dir;
  const act::control_vector cv = sample_vector();
  const std::string path = dir.file("cv.gguf");
  act::write_control_vector(path, cv);

  // The generic structure is what llama.cpp expects.
  const auto bytes = act::detail::read_file(path);
  const auto g = act::detail::parse_gguf(bytes.data(), bytes.size(), path);
  CHECK(g.version == 3);
  CHECK(g.find("general.architecture")->string_value == "controlvector");
  CHECK(g.find("controlvector.layer_count")->type == act::detail::gguf_type::i32);
  CHECK(g.find("controlvector.layer_count")->int_value == 3);  // number of directions, as llama.cpp writes it
  REQUIRE(g.tensors.size() == 3);
  CHECK(g.tensors[2].name == "direction.12");
  CHECK(g.data_start % 32 == 0);
  for (const auto& t : g.tensors) CHECK(t.offset % 32 == 0);
}
