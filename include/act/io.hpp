#pragma once
/// \file io.hpp
/// Files: .npy arrays, safetensors, act's map files and llama.cpp control vectors (GGUF). Every reader
/// validates untrusted input; every writer is atomic.

#include <act/io/control_vector_maps.hpp>
#include <act/io/dtype.hpp>
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>
#include <act/io/safetensors.hpp>

#if defined(ACT_COMPILED) && !defined(ACT_COMPILED_SOURCE)
#include <act/detail/instantiations.hpp>
// Compiled once in act::act_compiled.
ACT_INSTANTIATE_IO(extern)
#endif
