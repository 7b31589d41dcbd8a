# Runs one guide's example in a fresh folder and fails on a non-zero exit status; prints what it printed.
# Arguments: -DWORK=<folder> -DPATH_PREFIX=<folders for PATH, ':'-separated> -DPYTHONPATH=<...>
#            -DCOMMAND=<program>;<arguments...> (a list) [-DSETUP=<an earlier example to run first>]
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(ENV{PATH} "${PATH_PREFIX}:$ENV{PATH}")
set(ENV{PYTHONPATH} "${PYTHONPATH}")
foreach(step IN ITEMS SETUP COMMAND)
  if(NOT ${step})
    continue()
  endif()
  string(REPLACE "|" ";" command "${${step}}")
  execute_process(COMMAND ${command} WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${command} failed (exit ${rc})")
  endif()
endforeach()
