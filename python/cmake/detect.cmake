# Whether act's Python module can be built here: Python 3 (interpreter and development headers), pybind11's
# CMake package and an interpreter that imports NumPy. Sets ACT_PYTHON_AVAILABLE (the default of
# ACT_BUILD_PYTHON). On Debian use /usr/bin/python3 (python3-dev, python3-pybind11, python3-numpy): the
# presets set Python3_EXECUTABLE, since another python3 first on PATH (pyenv, conda) lacks those modules.
set(ACT_PYTHON_AVAILABLE OFF)
find_package(Python3 3.8 QUIET COMPONENTS Interpreter Development.Module)
find_package(pybind11 2.6 QUIET CONFIG)
if(NOT Python3_FOUND)
  message(STATUS "act: Python 3 with development headers not found; the Python module is off (ACT_BUILD_PYTHON)")
elseif(NOT pybind11_FOUND)
  message(STATUS "act: pybind11 not found (Debian: python3-pybind11); the Python module is off (ACT_BUILD_PYTHON)")
else()
  execute_process(COMMAND ${Python3_EXECUTABLE} -c "import numpy" RESULT_VARIABLE _act_numpy_status OUTPUT_QUIET ERROR_QUIET)
  if(_act_numpy_status EQUAL 0)
    set(ACT_PYTHON_AVAILABLE ON)
  else()
    message(STATUS "act: ${Python3_EXECUTABLE} cannot import numpy (Debian: python3-numpy, and -DPython3_EXECUTABLE="
                   "/usr/bin/python3); the Python module is off (ACT_BUILD_PYTHON)")
  endif()
endif()
