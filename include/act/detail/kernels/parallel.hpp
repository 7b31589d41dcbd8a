#pragma once
/// \file parallel.hpp
/// Splits [0, n) into contiguous chunks run on std::threads; exceptions reach the caller.

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

#include <Eigen/Core>

namespace act::detail {

/// Calls body(begin, end) over contiguous chunks of [0, n) on up to `threads` threads
/// (0 = hardware concurrency). The first exception thrown by a chunk is rethrown here.
template <class Body>
void parallel_for(Eigen::Index n, int threads, Body&& body) {
  int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  t = static_cast<int>(std::min<Eigen::Index>(t, std::max<Eigen::Index>(n, 1)));
  if (t <= 1) {
    body(Eigen::Index{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(t));
  pool.reserve(static_cast<std::size_t>(t));
  for (int k = 0; k < t; ++k) {
    const Eigen::Index begin = n * k / t, end = n * (k + 1) / t;
    pool.emplace_back([&, k, begin, end] {
      try {
        body(begin, end);
      } catch (...) {
        errors[static_cast<std::size_t>(k)] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace act::detail
