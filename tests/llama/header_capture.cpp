// capture.hpp compiles on its own.
#include <act/llama/capture.hpp>
