#pragma once
/// \file run_command.hpp
/// Runs a shell command for the end-to-end tests of the tools: exit status and everything it printed.

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <doctest/doctest.h>

namespace act_test {

struct command_result {
  int status = -1;     ///< exit status, or -1 when killed by a signal
  std::string output;  ///< stdout and stderr together
};

inline command_result run_command(const std::string& command) {
  command_result r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) r.output.append(buffer, n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace act_test
