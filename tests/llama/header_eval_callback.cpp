// eval_callback.hpp compiles on its own (act's header check leaves out the llama.cpp headers).
#include <act/llama/eval_callback.hpp>
