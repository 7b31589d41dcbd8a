#pragma once
/// \file io.hpp
/// Files: .npy arrays, safetensors, act's map files and llama.cpp control vectors (GGUF). Every reader
/// validates untrusted input; every writer is atomic; map files are updated under a lock.

#include <act/io/control_vector_maps.hpp>
#include <act/io/dtype.hpp>
#include <act/io/files.hpp>
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>
#include <act/io/safetensors.hpp>
