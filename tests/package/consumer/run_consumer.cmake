# Installs act into a scratch prefix, then configures, builds and runs the consumer project both ways.
# Arguments: -DACT_SOURCE_DIR -DACT_BUILD_DIR -DWORK_DIR -DCONSUMER_DIR
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${ACT_BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(mode find_package add_subdirectory)
  run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/${mode} -DACT_CONSUME=${mode}
      -DACT_SOURCE_DIR=${ACT_SOURCE_DIR} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${mode})
  run(${WORK_DIR}/${mode}/consumer)
  message(STATUS "consumer via ${mode}: ok")
endforeach()
