// act_llama_random_model: writes the random llama-architecture GGUF model of tests/llama/random_model.hpp,
// for the README's walk-through and the act-llama benchmark.
//
//   act_llama_random_model OUT.gguf [--layers 4] [--embd 64] [--ff 128] [--heads 4] [--kv-heads H]
//                          [--vocab V] [--ctx 512] [--seed 0]

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "random_model.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]).rfind("--", 0) == 0) {
    std::fprintf(stderr,
                 "usage: act_llama_random_model OUT.gguf [--layers N] [--embd N] [--ff N] [--heads N] [--kv-heads N] "
                 "[--vocab N] [--ctx N] [--seed N]\n");
    return 2;
  }
  act_llama_test::model_shape s;
  bool kv_given = false;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "act_llama_random_model: %s needs a value\n", flag.c_str());
      return 2;
    }
    char* end = nullptr;
    const long value = std::strtol(argv[i + 1], &end, 10);
    if (*end != '\0' || value < 0) {
      std::fprintf(stderr, "act_llama_random_model: %s '%s' is not a count\n", flag.c_str(), argv[i + 1]);
      return 2;
    }
    const int v = static_cast<int>(value);
    if (flag == "--layers")
      s.n_layer = v;
    else if (flag == "--embd")
      s.n_embd = v;
    else if (flag == "--ff")
      s.n_ff = v;
    else if (flag == "--heads")
      s.n_head = v;
    else if (flag == "--kv-heads")
      s.n_head_kv = v, kv_given = true;
    else if (flag == "--vocab")
      s.n_vocab = v;
    else if (flag == "--ctx")
      s.n_ctx = v;
    else if (flag == "--seed")
      s.seed = static_cast<std::uint32_t>(value);
    else {
      std::fprintf(stderr, "act_llama_random_model: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (!kv_given) s.n_head_kv = s.n_head;
  try {
    act_llama_test::write_random_model(argv[1], s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "act_llama_random_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
