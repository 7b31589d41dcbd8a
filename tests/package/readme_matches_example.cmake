# Fails when README.md's first C++ block differs from examples/readme_example.cpp (minus its comment line).
file(READ ${ROOT}/README.md readme)
file(READ ${ROOT}/examples/readme_example.cpp example)
string(REGEX MATCH "```cpp\n([^`]*)```" _ "${readme}")
set(block "${CMAKE_MATCH_1}")
string(REGEX REPLACE "^//[^\n]*\n" "" example "${example}")
if(NOT block STREQUAL example)
  message(FATAL_ERROR "README.md's example differs from examples/readme_example.cpp: update one from the other")
endif()
