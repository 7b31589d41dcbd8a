#pragma once
/// \file error.hpp
/// The exceptions act throws, and `act::raise`, which formats a message and throws one. Every message
/// names the argument or file at fault and what was wrong.

#include <stdexcept>
#include <string>

#include <fmt/core.h>

namespace act {

/// Base of everything act throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An argument is unusable: wrong value, empty, NaN strength, bad option.
class invalid_argument : public error {
 public:
  using error::error;
};

/// Shapes of arguments disagree (rows, columns, mask or length-list sizes).
class shape_error : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

/// Samples contain NaN or Inf; the message names the first row and neuron.
class non_finite_error : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

/// A file's content is malformed (bad header, dtype, offsets, tensor values).
class format_error : public error {
 public:
  using error::error;
};

/// The operating system refused a file operation (open, read, write, rename).
class io_error : public error {
 public:
  using error::error;
};

/// Formats the message with fmt and throws E (any of the classes above):
///
///     act::raise<act::shape_error>("{}: has {} rows, expected {}", path, rows, expected);
template <class E, class... Args>
[[noreturn]] void raise(fmt::format_string<Args...> format, const Args&... args) {
  throw E(fmt::vformat(format, fmt::make_format_args(args...)));
}

}  // namespace act
