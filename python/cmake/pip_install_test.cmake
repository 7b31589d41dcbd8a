# ctest script (ACT_TEST_PIP_INSTALL): `pip install --no-build-isolation --no-index ./python` into a fresh venv
# with the system's site packages, from a copy of the sources (pip builds in the tree it is given), then
# imports act from outside any source or build folder and runs a fit and an apply.
# Arguments: -DPYTHON=<interpreter> -DSOURCE_DIR=<act checkout> -DWORK_DIR=<scratch folder>
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/act)
foreach(_part IN ITEMS include src python LICENSE)
  file(COPY ${SOURCE_DIR}/${_part} DESTINATION ${WORK_DIR}/act)
endforeach()
file(REMOVE_RECURSE ${WORK_DIR}/act/python/build)

function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE status)
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
