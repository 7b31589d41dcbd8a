#pragma once
/// \file npy_mapped.hpp
/// A .npy file mapped into memory read-only (any number of dimensions, any descr): the header is
/// checked, the data is not copied; pages already read can be given back to the kernel. Reads of the
/// mapping go through npy_mapped::guarded, which turns the SIGBUS of a file truncated under the map into
/// an io_error. Also small integer arrays (sequence lengths, token masks) read whole.

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <act/core/error.hpp>
#include <act/detail/io/file.hpp>
#include <act/io/npy.hpp>

namespace act {

namespace detail {

/// Where the SIGBUS handler of mapped reads jumps back to on this thread, and the mapped bytes it
/// answers for; a fault anywhere else goes to the handler that was installed before.
struct mapped_read_frame {
  sigjmp_buf jump;
  const unsigned char* begin = nullptr;
  const unsigned char* end = nullptr;
  volatile std::size_t fault_offset = 0;
};
inline thread_local mapped_read_frame* current_mapped_read = nullptr;

inline struct sigaction& previous_sigbus_action() {
  static struct sigaction previous {};
  return previous;
}

inline void on_sigbus(int signal_number, siginfo_t* info, void* context) {
  mapped_read_frame* frame = current_mapped_read;
  const auto* at = static_cast<const unsigned char*>(info->si_addr);
  if (frame != nullptr && at >= frame->begin && at < frame->end) {
    frame->fault_offset = static_cast<std::size_t>(at - frame->begin);
    siglongjmp(frame->jump, 1);
  }
  const struct sigaction& previous = previous_sigbus_action();
  if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(signal_number, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN && previous.sa_handler != nullptr) {
    previous.sa_handler(signal_number);
  } else {
    // The faulting access runs again on return and now meets the default action.
    ::signal(SIGBUS, SIG_DFL);
  }
}

/// Installs on_sigbus once per process, keeping the handler it replaces for faults that are not act's.
inline void install_sigbus_handler() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    return ::sigaction(SIGBUS, &action, &previous_sigbus_action()) == 0;
  }();
  (void)installed;
}

}  // namespace detail

/// A read-only memory map of a .npy file. Movable, not copyable; unmaps on destruction.
///
///     act::npy_mapped f("x.npy");              // f.shape() == {n, d}, f.descr() == "<f4"
///     const unsigned char* p = f.data();       // f.data_bytes() bytes, C or Fortran order
class npy_mapped {
 public:
  /// Maps `path`; throws io_error when it cannot be opened or mapped, format_error for a bad header or
  /// a data size that does not match the shape and `item_bytes` of the descr (checked when known).
  /// (Opened as detail::open_input: FIFOs, devices and other files that are not regular are refused
  /// without blocking.)
  explicit npy_mapped(std::string path) : path_(std::move(path)) {
    const detail::input_file in = detail::open_input(path_);
    size_ = in.size;
    if (size_ == 0) raise<format_error>("{}: empty file, not a .npy file", path_);
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, in.fd.get(), 0);
    if (p == MAP_FAILED) raise<io_error>("{}: cannot map: {}", path_, detail::errno_text(errno));
    base_ = static_cast<const unsigned char*>(p);
    try {
      // The header is parsed from a copy: only the copies run under the guard, which leaves by a jump and
      // so must own nothing. The prefix (magic, version, header length) first, then as much of the header
      // as it claims and the file holds.
      std::vector<unsigned char> head(std::min<std::size_t>(size_, 12));
      guarded([&] { std::memcpy(head.data(), base_, head.size()); });
      const std::size_t length_bytes = head.size() > 6 && head[6] == 1 ? 2 : 4;
      if (head.size() >= 8 + length_bytes) {
        std::size_t header_len = 0;
        for (std::size_t i = length_bytes; i-- > 0;) header_len = (header_len << 8) | head[8 + i];
        head.resize(std::min(size_, 8 + length_bytes + header_len));
        guarded([&] { std::memcpy(head.data(), base_, head.size()); });
      }
      layout_ = detail::parse_npy_layout(head.data(), head.size(), path_);
    } catch (...) {
      unmap();
      throw;
    }
  }
  npy_mapped(npy_mapped&& o) noexcept { swap(o); }
  npy_mapped& operator=(npy_mapped&& o) noexcept {
    swap(o);
    return *this;
  }
  npy_mapped(const npy_mapped&) = delete;
  npy_mapped& operator=(const npy_mapped&) = delete;
  ~npy_mapped() { unmap(); }

  const std::string& path() const { return path_; }
  const std::vector<std::uint64_t>& shape() const { return layout_.header.shape; }
  const std::string& descr() const { return layout_.header.descr; }
  bool fortran_order() const { return layout_.header.fortran_order; }
  /// The array's elements, as stored.
  const unsigned char* data() const { return base_ + layout_.data_offset; }
  std::size_t data_bytes() const { return size_ - layout_.data_offset; }

  /// Throws format_error unless the data holds exactly shape x `item_bytes` bytes.
  void check_size(std::size_t item_bytes) const {
    detail::check_npy_data_size(shape(), item_bytes, data_bytes(), path_);
  }

  /// Runs `read`, which reads the mapped bytes. Should the file shrink meanwhile (another program truncates
  /// or rewrites it), the access past its new end raises SIGBUS; instead of killing the process this
  /// throws io_error naming the file and the offset. `read` must not own anything that needs destroying
  /// (the fault leaves it by a jump): allocate before, read inside. Installs a SIGBUS handler once per
  /// process; faults outside act's mapped reads go on to the handler installed before it.
  template <class Read>
  void guarded(Read&& read) const {
    detail::install_sigbus_handler();
    detail::mapped_read_frame frame;
    frame.begin = base_;
    frame.end = base_ + size_;
    struct restore {
      detail::mapped_read_frame* outer;
      ~restore() { detail::current_mapped_read = outer; }
    } const restore_outer{detail::current_mapped_read};
    if (sigsetjmp(frame.jump, 1) != 0) {
      detail::current_mapped_read = restore_outer.outer;
      raise<io_error>(
          "{}: the file ended at offset {} while being read ({} bytes when opened): it was truncated or rewritten "
          "meanwhile",
          path_, frame.fault_offset, size_);
    }
    detail::current_mapped_read = &frame;
    read();
  }

  /// Drops the pages of data bytes [offset, offset + bytes) from this process (they stay in the page
  /// cache and come back on the next read), so reading a large file a part at a time keeps the
  /// resident set small. A hint: failures are ignored.
  void release(std::size_t offset, std::size_t bytes) const {
    static const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t begin = (layout_.data_offset + offset) / page * page;
    const std::size_t end = std::min(size_, layout_.data_offset + offset + bytes);
    if (end > begin) (void)::madvise(const_cast<unsigned char*>(base_) + begin, end - begin, MADV_DONTNEED);
  }

 private:
  void unmap() {
    if (base_ != nullptr) ::munmap(const_cast<unsigned char*>(base_), size_);
    base_ = nullptr;
  }
  void swap(npy_mapped& o) noexcept {
    std::swap(path_, o.path_);
    std::swap(base_, o.base_);
    std::swap(size_, o.size_);
    std::swap(layout_, o.layout_);
  }

  std::string path_;
  const unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
  detail::npy_layout layout_;
};

/// An integer (or bool) .npy array read whole, with its shape.
struct npy_integers {
  std::vector<std::uint64_t> shape;
  std::vector<std::int64_t> values;  ///< C order
};

/// Reads a .npy array of bool, int8/16/32/64 or uint8/16/32/64 (little-endian). Throws format_error naming
/// the file for any other descr, a bad header or a uint64 value beyond int64.
template <class Path>
npy_integers read_npy_integers(const Path& path) {
  const npy_mapped f(detail::path_string(path));
  std::string_view d = f.descr();
  if (d.size() == 3 && (d[0] == '<' || d[0] == '|' || d[0] == '=')) d.remove_prefix(1);
  const bool is_signed = !d.empty() && d[0] == 'i';
  const bool known =
      d == "b1" || d == "u1" || d == "i1" || d == "u2" || d == "i2" || d == "u4" || d == "i4" || d == "u8" || d == "i8";
  if (!known)
    raise<format_error>("{}: header field 'descr' is '{}': expected an integer or bool array (|b1, |u1, <i4, <i8, ...)",
                        f.path(), f.descr());
  const std::size_t item = static_cast<std::size_t>(d[1] - '0');
  f.check_size(item);
  npy_integers out;
  out.shape = f.shape();
  const std::size_t n = f.data_bytes() / item;
  out.values.resize(n);
  const unsigned char* p = f.data();
  std::size_t too_large = n;  // the first uint64 element beyond int64, and its value
  std::uint64_t too_large_value = 0;
  f.guarded([&] {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t u = 0;
      for (std::size_t b = item; b-- > 0;) u = (u << 8) | p[i * item + b];
      std::int64_t v = 0;
      if (is_signed && item < 8 && (u >> (8 * item - 1)) != 0) u |= ~std::uint64_t(0) << (8 * item);  // sign-extend
      if (!is_signed && item == 8 && u > static_cast<std::uint64_t>(INT64_MAX)) {
        too_large = i;
        too_large_value = u;
        return;
      }
      std::memcpy(&v, &u, sizeof v);
      out.values[i] = v;
    }
  });
  if (too_large < n)
    raise<format_error>("{}: element {} = {} does not fit in int64", f.path(), too_large, too_large_value);
  return out;
}

}  // namespace act
