#pragma once
/// \file thread_pool.hpp
/// act's own executor: a pool of threads started once and kept alive, and default_executor(), which threaded
/// calls use when they name no executor (core/executor.hpp).

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include <act/core/executor.hpp>

namespace act {

/// An executor over threads it starts once and keeps until destruction; the caller runs tasks too. One job at a
/// time: a call made while another runs (from another thread, or from inside a task) runs its tasks on its own
/// thread instead of waiting. In a child process made by fork(), which inherits none of the threads, every call
/// runs on the caller.
class thread_pool final : public executor {
 public:
  /// `threads` tasks at once, the caller included (0 = std::thread::hardware_concurrency()).
  explicit thread_pool(int threads = 0) {
    const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    workers_.reserve(static_cast<std::size_t>(n - 1));
    for (int k = 0; k + 1 < n; ++k) workers_.emplace_back([this] { work(); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int concurrency() const override { return static_cast<int>(workers_.size()) + 1; }

  void run(int count, const task& t) override {
    if (count <= 0) return;
    std::unique_lock<std::mutex> job(job_mutex_, std::try_to_lock);
    if (count == 1 || workers_.empty() || !job.owns_lock() || forked()) {
      for (int i = 0; i < count; ++i) t(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &t;
      count_ = count;
      next_.store(0, std::memory_order_relaxed);
      busy_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    struct wait_for_workers {  // also when a task throws here: the workers still read t
      thread_pool& pool;
      ~wait_for_workers() {
        std::unique_lock<std::mutex> lock(pool.mutex_);
        pool.done_.wait(lock, [this] { return pool.busy_ == 0; });
        pool.job_ = nullptr;
      }
    } wait{*this};
    claim(t, count);
  }

 private:
  bool forked() const {
#if defined(__unix__) || defined(__APPLE__)
    return ::getpid() != owner_;
#else
    return false;
#endif
  }

  void claim(const task& t, int count) {
    for (int i = next_.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next_.fetch_add(1, std::memory_order_relaxed))
      t(i);
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      const task* t;
      int count;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        t = job_;
        count = count_;
      }
      claim(*t, count);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

#if defined(__unix__) || defined(__APPLE__)
  const ::pid_t owner_ = ::getpid();  ///< the process whose threads workers_ are
#endif
  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  ///< held by the caller whose job runs
  std::mutex mutex_;      ///< guards the fields below
  std::condition_variable wake_, done_;
  const task* job_ = nullptr;
  int count_ = 0;
  int busy_ = 0;  ///< workers still on the current job
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::atomic<int> next_{0};
};

/// The executor of threaded calls that name none: the innermost executor_scope's on this thread, else a
/// process-wide thread_pool of hardware_concurrency() started at the first use.
inline executor& default_executor() {
  if (executor* scoped = detail::scoped_executor()) return *scoped;
  static thread_pool pool;
  return pool;
}

}  // namespace act
