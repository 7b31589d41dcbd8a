# Helpers for tests/CMakeLists.txt: one test executable per layer, every doctest case its own ctest test.

set(_act_add_tests_script ${CMAKE_CURRENT_LIST_DIR}/act_doctest_add_tests.cmake)

# act_discover_tests(<target> SOURCES <src>... PREFIXES <prefix>... LABELS <label>...)
# After <target> is built, each case of each source becomes the ctest test "<prefix><case>", run as
# `<target> --source-file=*/<src> --test-case=<case>` and labelled with the source's label (`ctest -L <label>`).
# Like doctest_discover_tests, but per source file, so cases of different files may share a name.
function(act_discover_tests target)
  cmake_parse_arguments(ARG "" "" "SOURCES;PREFIXES;LABELS" ${ARGN})
  set(cases ${CMAKE_CURRENT_BINARY_DIR}/${target}_cases.cmake)
  set(tests ${CMAKE_CURRENT_BINARY_DIR}/${target}_tests.cmake)
  set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
  file(CONFIGURE OUTPUT ${cases} CONTENT [[
set(ACT_SOURCES "@ARG_SOURCES@")
set(ACT_PREFIXES "@ARG_PREFIXES@")
set(ACT_LABELS "@ARG_LABELS@")
set(ACT_WORKDIR "@CMAKE_CURRENT_BINARY_DIR@")
]] @ONLY)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${target}> -DCASES=${cases} -DOUT=${tests} -P ${_act_add_tests_script}
    BYPRODUCTS ${tests}
    VERBATIM)
  file(CONFIGURE OUTPUT ${include} CONTENT [[
if(EXISTS "@tests@")
  include("@tests@")
else()
  add_test(@target@_NOT_BUILT @target@_NOT_BUILT)
endif()
]] @ONLY)
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()

# act_test_executable(<target> SOURCES <folder>/test_<name>.cpp... [PREFIX_SUFFIX <s>] [NO_PCH] [COMPILED])
# One executable from the given test files, linked with the shared doctest main; the cases of
# test_<name>.cpp are listed as "<name><s>: <case>" (the names they had when each file was its own
# executable) and labelled <folder>. COMPILED links act::act_compiled, so the common instantiations are
# compiled once for all tests (and compiled mode is tested); the others use act header-only.
function(act_test_executable target)
  cmake_parse_arguments(ARG "NO_PCH;COMPILED" "PREFIX_SUFFIX" "SOURCES" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE act::act act_warnings act_test_main)
  if(ARG_COMPILED)
    target_link_libraries(${target} PRIVATE act::act_compiled)
  endif()
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/util)
  if(ACT_TEST_PCH AND NOT ARG_NO_PCH)
    target_precompile_headers(${target} REUSE_FROM act_test_pch)
  endif()
  set(prefixes "")
  set(labels "")
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(stem ${source} NAME_WE)
    string(REGEX REPLACE "^test_" "" name ${stem})
    list(APPEND prefixes "${name}${ARG_PREFIX_SUFFIX}: ")
    get_filename_component(folder ${source} DIRECTORY)
    list(APPEND labels ${folder})
  endforeach()
  act_discover_tests(${target} SOURCES ${ARG_SOURCES} PREFIXES ${prefixes} LABELS ${labels})
endfunction()
