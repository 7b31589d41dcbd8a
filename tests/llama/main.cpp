// doctest main of the llama.cpp tests: llama.cpp's log stays quiet (ACT_LLAMA_LOG=1 shows it).
#define DOCTEST_CONFIG_IMPLEMENT
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <doctest/doctest.h>
#include <llama.h>

namespace {
void log_sink(ggml_log_level, const char* text, void*) {
  static const bool show =
      std::getenv("ACT_LLAMA_LOG") != nullptr && std::string_view(std::getenv("ACT_LLAMA_LOG")) != "0";
  if (show) std::fputs(text, stderr);
}
}  // namespace

int main(int argc, char** argv) {
  llama_log_set(log_sink, nullptr);
  llama_backend_init();
  doctest::Context context(argc, argv);
  return context.run();
}
