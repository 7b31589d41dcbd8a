// Empty: the target act_test_pch compiles this file to build the precompiled third-party headers (Eigen, doctest,
// fmt) that the test executables reuse; see tests/CMakeLists.txt.
