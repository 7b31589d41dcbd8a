# Run after a test executable is built (see act_discover_tests in act_tests.cmake): lists the doctest cases
# of each of its source files and writes one ctest test per case, named "<prefix><case>".
# Arguments: -DEXE=<test executable> -DCASES=<file written by act_discover_tests> -DOUT=<ctest file to write>
# CASES sets ACT_SOURCES (tests/-relative sources), ACT_PREFIXES and ACT_LABELS (one each per source), ACT_WORKDIR.
#
# Unlike doctest_discover_tests, a case name may hold ';' (a CMake list separator): the names are never
# split into lists, and every test fails if its filter ran no case, so a name that does not reach doctest
# intact cannot pass silently.
include(${CASES})

function(act_bracket out value)  # value as a CMake bracket argument, in which no character is special
  set(eq "")
  string(FIND "${value}]" "]${eq}]" clash)
  while(NOT clash EQUAL -1)
    string(APPEND eq "=")
    string(FIND "${value}]" "]${eq}]" clash)
  endwhile()
  set(${out} "[${eq}[${value}]${eq}]" PARENT_SCOPE)
endfunction()

set(script "")
set(seen "")
list(LENGTH ACT_SOURCES count)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET ACT_SOURCES ${i} source)
  list(GET ACT_PREFIXES ${i} prefix)
  list(GET ACT_LABELS ${i} label)
  set(source_filter "--source-file=*/${source}")
  execute_process(COMMAND "${EXE}" ${source_filter} --list-test-cases
    OUTPUT_VARIABLE output ERROR_VARIABLE error RESULT_VARIABLE result WORKING_DIRECTORY "${ACT_WORKDIR}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${EXE} --list-test-cases failed (${result}):\n${output}${error}")
  endif()
  # Walk the output line by line with string(FIND): no list operations, so ';' stays in the names.
  set(found 0)
  while(NOT output STREQUAL "")
    string(FIND "${output}" "\n" end)
    if(end EQUAL -1)
      set(line "${output}")
      set(output "")
    else()
      string(SUBSTRING "${output}" 0 ${end} line)
      math(EXPR next "${end} + 1")
      string(SUBSTRING "${output}" ${next} -1 output)
    endif()
    if(line STREQUAL "" OR line MATCHES "^===+$" OR line MATCHES "^\\[doctest\\] ")
      continue()
    endif()
    set(name "${prefix}${line}")
    string(FIND "${seen}" "\n${name}\n" dup)
    if(NOT dup EQUAL -1)
      message(FATAL_ERROR "two test cases named '${name}' in ${EXE}")
    endif()
    string(APPEND seen "\n${name}\n")
    string(REPLACE "," "\\," filter "${line}")  # doctest separates filters with ','
    act_bracket(name_arg "${name}")
    act_bracket(case_arg "--test-case=${filter}")
    act_bracket(source_arg "${source_filter}")
    act_bracket(exe_arg "${EXE}")
    act_bracket(dir_arg "${ACT_WORKDIR}")
    string(APPEND script "add_test(${name_arg} ${exe_arg} ${source_arg} ${case_arg})\n"
      "set_tests_properties(${name_arg} PROPERTIES WORKING_DIRECTORY ${dir_arg} LABELS ${label}"
      " FAIL_REGULAR_EXPRESSION [[test cases: 0 \\|]])\n")
    math(EXPR found "${found} + 1")
  endwhile()
  if(found EQUAL 0)
    message(FATAL_ERROR "no test case of ${EXE} comes from ${source} (filter ${source_filter})")
  endif()
endforeach()
file(WRITE "${OUT}" "${script}")
