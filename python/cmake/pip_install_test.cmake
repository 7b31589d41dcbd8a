# ctest script (ACT_TEST_PIP_INSTALL): `pip install --no-build-isolation --no-index ./python` into a fresh venv
# with the system's site packages, from a copy of the sources, then imports act from outside any source or
# build folder and runs a fit and an apply. Checks that nothing was built inside the source tree, then changes
# a header (the version) and reinstalls: the installed module must report the new version.
# Arguments: -DPYTHON=<interpreter> -DSOURCE_DIR=<act checkout> -DWORK_DIR=<scratch folder>
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/act)
foreach(_part IN ITEMS include src python LICENSE)
  file(COPY ${SOURCE_DIR}/${_part} DESTINATION ${WORK_DIR}/act)
endforeach()
file(REMOVE_RECURSE ${WORK_DIR}/act/python/build)

function(run)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ACT_PIP_BUILD_DIR=${WORK_DIR}/pip-build ${ARGN}
                  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}")
  endif()
endfunction()

run(${PYTHON} -m venv --system-site-packages ${WORK_DIR}/venv)
run(${WORK_DIR}/venv/bin/pip install --no-build-isolation --no-index ${WORK_DIR}/act/python)
run(${WORK_DIR}/venv/bin/python -c [[
import act, numpy as np
assert act.__file__.startswith(__import__("sys").prefix), act.__file__
rng = np.random.default_rng(0)
fit = act.fit("linear", rng.standard_normal((64, 8), dtype=np.float32), rng.standard_normal((64, 8), dtype=np.float32) + 1)
x = rng.standard_normal((4, 8), dtype=np.float32)
fit.map.apply(x)
print("installed act", act.__version__, "at", act.__file__, "works:", fit)
]])

foreach(_inside IN ITEMS build act.egg-info)
  if(EXISTS ${WORK_DIR}/act/python/${_inside})
    message(FATAL_ERROR "pip built inside the source tree: ${WORK_DIR}/act/python/${_inside}")
  endif()
endforeach()

# A header change rebuilds the extension: bump the patch version and reinstall. setuptools compares
# modification times in whole seconds, so the change must come in a later second than the build's end.
execute_process(COMMAND ${CMAKE_COMMAND} -E sleep 2)
file(READ ${WORK_DIR}/act/include/act/core/version.hpp _version_header)
string(REGEX MATCH "#define ACT_VERSION_PATCH ([0-9]+)" _ ${_version_header})
math(EXPR _next_patch "${CMAKE_MATCH_1} + 1")
string(REGEX REPLACE "#define ACT_VERSION_PATCH [0-9]+" "#define ACT_VERSION_PATCH ${_next_patch}" _version_header "${_version_header}")
file(WRITE ${WORK_DIR}/act/include/act/core/version.hpp "${_version_header}")
run(${WORK_DIR}/venv/bin/pip install --no-build-isolation --no-index ${WORK_DIR}/act/python)
# (A script file: semicolons inside one argument would split it into several through run()'s ARGN.)
file(WRITE ${WORK_DIR}/check_version.py "import act\nv = act.__version__\nassert v.endswith('.${_next_patch}'), v\nprint('reinstalled act', v)\n")
run(${WORK_DIR}/venv/bin/python ${WORK_DIR}/check_version.py)
