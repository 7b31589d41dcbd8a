// rpc.hpp compiles on its own.
#include <act/llama/rpc.hpp>
