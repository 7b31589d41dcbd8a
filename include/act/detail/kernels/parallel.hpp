#pragma once
/// \file parallel.hpp
/// Splits [0, n) into contiguous chunks run as tasks of an act::executor; exceptions reach the caller.

#include <algorithm>
#include <exception>
#include <vector>

#include <Eigen/Core>

#include <act/core/thread_pool.hpp>

namespace act::detail {

/// Calls body(begin, end) over `chunks` contiguous chunks of [0, n) (at most n), as tasks of `ex`.
/// The first exception thrown by a chunk is rethrown here.
template <class Body>
void parallel_for(executor& ex, Eigen::Index n, int chunks, Body&& body) {
  const int t = static_cast<int>(std::min<Eigen::Index>(chunks, std::max<Eigen::Index>(n, 1)));
  if (t <= 1) {
    body(Eigen::Index{0}, n);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(t));
  const auto chunk = [&](int k) {
    try {
      body(n * k / t, n * (k + 1) / t);
    } catch (...) {
      errors[static_cast<std::size_t>(k)] = std::current_exception();
    }
  };
  ex.run(t, executor::task(chunk));
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// The same on up to `threads` tasks of act::default_executor() (0 = as many as it runs at once).
template <class Body>
void parallel_for(Eigen::Index n, int threads, Body&& body) {
  if (threads == 1 || n <= 1) {  // without starting the default pool
    body(Eigen::Index{0}, n);
    return;
  }
  executor& ex = default_executor();
  parallel_for(ex, n, threads > 0 ? threads : ex.concurrency(), static_cast<Body&&>(body));
}

}  // namespace act::detail
