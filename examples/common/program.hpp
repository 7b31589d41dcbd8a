#pragma once
// The main() of the examples' command-line programs: any exception becomes one line on stderr, exit status 1.

#include <cstdio>
#include <exception>

namespace examples_common {

template <class Run>
int run_program(const char* name, Run&& run, int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
}

}  // namespace examples_common
