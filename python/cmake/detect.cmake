# Whether act's Python module can be built here: Python 3 (interpreter and development headers), pybind11's
# CMake package and an interpreter that imports NumPy. Sets ACT_PYTHON_AVAILABLE (the default of
# ACT_BUILD_PYTHON) and says which interpreter it chose.
#
# Without -DPython3_EXECUTABLE the first python3 on PATH is tried, then the system's /usr/bin/python3: the
# first of them that imports NumPy is used. So a pyenv or conda python3 first on PATH without NumPy does not
# turn the module off when Debian's interpreter (python3-dev, python3-pybind11, python3-numpy) has what it needs.
set(ACT_PYTHON_AVAILABLE OFF)
if(NOT Python3_EXECUTABLE)
  find_program(_act_path_python3 NAMES python3 NO_CACHE)
  set(_act_rejected "")
  foreach(_candidate IN ITEMS ${_act_path_python3} /usr/bin/python3)
    if(EXISTS "${_candidate}")
      execute_process(COMMAND ${_candidate} -c "import numpy" RESULT_VARIABLE _act_numpy_status OUTPUT_QUIET ERROR_QUIET)
      if(_act_numpy_status EQUAL 0)
        set(Python3_EXECUTABLE "${_candidate}" CACHE FILEPATH "The Python interpreter act's module is built for")
        break()
      endif()
      list(APPEND _act_rejected "${_candidate}")
    endif()
  endforeach()
  if(_act_rejected AND Python3_EXECUTABLE)
    list(JOIN _act_rejected ", " _act_rejected_text)
    message(STATUS "act: ${_act_rejected_text} cannot import numpy; using ${Python3_EXECUTABLE} for the Python module")
  endif()
endif()
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
    message(STATUS "act: the Python module is built for ${Python3_EXECUTABLE} (Python ${Python3_VERSION})")
  else()
    message(STATUS "act: ${Python3_EXECUTABLE} cannot import numpy (Debian: python3-numpy, and -DPython3_EXECUTABLE="
                   "/usr/bin/python3); the Python module is off (ACT_BUILD_PYTHON)")
  endif()
endif()
