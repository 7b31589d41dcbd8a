# llama.cpp integration, on with ACT_BUILD_LLAMA: the tool act-llama, the llama.cpp tests and the
# random-model writer they share with the benchmark. llama.cpp is found through its CMake package: in
# LLAMA_CPP_DIR (an install prefix, e.g. build/llama/prefix from `bash cmake/prepare_llama.sh`) or on
# CMAKE_PREFIX_PATH. When it is not found, nothing is built and ctest shows one skipped test saying why.
# The headers include/act/llama/*.hpp need llama.cpp, so they are not in act's verified header set;
# tests/llama compiles them on their own.
set(LLAMA_CPP_DIR "" CACHE PATH "llama.cpp install prefix holding lib/cmake/llama (see cmake/prepare_llama.sh)")

find_package(llama CONFIG QUIET HINTS ${LLAMA_CPP_DIR} NO_DEFAULT_PATH)
if(NOT llama_FOUND)
  find_package(llama CONFIG QUIET)
endif()

if(NOT llama_FOUND)
  if(LLAMA_CPP_DIR)
    set(_act_llama_reason "llama.cpp was not found in LLAMA_CPP_DIR=${LLAMA_CPP_DIR}; prepare it with: bash cmake/prepare_llama.sh")
  else()
    set(_act_llama_reason "llama.cpp was not found (set LLAMA_CPP_DIR, or prepare it with: bash cmake/prepare_llama.sh)")
  endif()
  message(STATUS "act: ACT_BUILD_LLAMA is on but ${_act_llama_reason}; act-llama and the llama.cpp tests are skipped")
  if(ACT_BUILD_TESTS)
    add_test(NAME "llama: llama.cpp tests" COMMAND ${CMAKE_COMMAND} -E echo "SKIPPED: ${_act_llama_reason}")
    set_tests_properties("llama: llama.cpp tests" PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:")
  endif()
  return()
endif()

message(STATUS "act: llama.cpp ${LLAMA_VERSION} (${LLAMA_BUILD_COMMIT}) from ${llama_DIR}")
add_subdirectory(${PROJECT_SOURCE_DIR}/tools/act_llama ${PROJECT_BINARY_DIR}/tools/act_llama)
if(ACT_BUILD_TESTS OR ACT_BUILD_BENCHMARKS)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/llama ${PROJECT_BINARY_DIR}/tests/llama)
endif()

# The toy Gemma's toxicity experiment inside llama.cpp and in act's engine (examples/toy_gemma).
if(ACT_BUILD_EXAMPLES)
  add_executable(toy_gemma_llama_experiment ${PROJECT_SOURCE_DIR}/examples/toy_gemma/llama_experiment.cpp)
  target_link_libraries(toy_gemma_llama_experiment PRIVATE act::act act::act_compiled act_warnings llama)
  target_compile_definitions(toy_gemma_llama_experiment PRIVATE TOY_GEMMA_SOURCE_DIR="${PROJECT_SOURCE_DIR}/examples/toy_gemma")
endif()
