#include <act/core/version.hpp>

#include <doctest/doctest.h>

TEST_CASE("version number agrees with its parts") {
  CHECK(act::version == ACT_VERSION_MAJOR * 10000 + ACT_VERSION_MINOR * 100 + ACT_VERSION_PATCH);
  CHECK(act::version > 0);
}
