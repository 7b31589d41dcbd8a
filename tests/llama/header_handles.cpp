// handles.hpp compiles on its own.
#include <act/llama/handles.hpp>
