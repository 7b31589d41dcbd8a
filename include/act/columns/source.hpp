#pragma once
/// \file source.hpp
/// Column sources: samples delivered a block of neurons at a time, so a fit never needs the whole
/// [n x d] matrix in memory (columns/fit.hpp). Any type with these members is one:
///
///     Eigen::Index rows() const;   // samples
///     Eigen::Index cols() const;   // neurons
///     template <class Scalar>      // fills out [rows() x count] with neurons first .. first + count - 1
///     void read(Eigen::Index first, Eigen::Index count, Eigen::Ref<Eigen::Matrix<Scalar, -1, -1>> out) const;
///
/// and optionally `std::size_t read_scratch_bytes(Eigen::Index count, std::size_t scalar_bytes) const`, the
/// memory a read of `count` neurons needs besides `out` (0 when absent). act::npy_columns reads .npy files,
/// act::matrix_columns wraps a matrix, act::pooled_columns pools token rows, act::stacked_columns
/// concatenates sources by rows; hosts write their own to stream from their storage.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/core/error.hpp>

namespace act {

/// An Eigen matrix (or any expression with coeff access) as a column source, read in place.
template <class Derived>
class matrix_columns {
 public:
  explicit matrix_columns(const Eigen::MatrixBase<Derived>& x) : x_(x.derived()) {}
  Eigen::Index rows() const { return x_.rows(); }
  Eigen::Index cols() const { return x_.cols(); }
  template <class Scalar>
  void read(Eigen::Index first, Eigen::Index count,
            Eigen::Ref<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> out) const {
    out = x_.middleCols(first, count).template cast<Scalar>();
  }

 private:
  const Derived& x_;
};

/// Wraps a matrix as a column source (the matrix must outlive it).
template <class Derived>
matrix_columns<Derived> columns_of(const Eigen::MatrixBase<Derived>& x) {
  return matrix_columns<Derived>(x);
}

namespace detail {

template <class Source, class = void>
struct has_read_scratch : std::false_type {};
template <class Source>
struct has_read_scratch<
    Source, std::void_t<decltype(std::declval<const Source&>().read_scratch_bytes(Eigen::Index{}, std::size_t{}))>>
    : std::true_type {};

}  // namespace detail

/// The memory a read of `count` neurons from `source` needs besides its output.
template <class Source>
std::size_t read_scratch_bytes(const Source& source, Eigen::Index count, std::size_t scalar_bytes) {
  if constexpr (detail::has_read_scratch<Source>::value)
    return source.read_scratch_bytes(count, scalar_bytes);
  else
    return 0;
}

/// Any column source, read as `Scalar`, behind one type (the source is moved in and owned).
template <class Scalar>
class any_columns {
 public:
  using block_ref = Eigen::Ref<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>;

  template <class Source, class = std::enable_if_t<!std::is_same_v<std::decay_t<Source>, any_columns>>>
  any_columns(Source&& source)
      : self_(std::make_shared<model<std::decay_t<Source>>>(std::forward<Source>(source))) {}  // NOLINT

  Eigen::Index rows() const { return self_->rows(); }
  Eigen::Index cols() const { return self_->cols(); }
  template <class S>
  void read(Eigen::Index first, Eigen::Index count,
            Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> out) const {
    static_assert(std::is_same_v<S, Scalar>, "any_columns<Scalar> reads Scalar only");
    self_->read(first, count, out);
  }
  std::size_t read_scratch_bytes(Eigen::Index count, std::size_t scalar_bytes) const {
    return self_->scratch(count, scalar_bytes);
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual Eigen::Index rows() const = 0;
    virtual Eigen::Index cols() const = 0;
    virtual void read(Eigen::Index first, Eigen::Index count, block_ref out) const = 0;
    virtual std::size_t scratch(Eigen::Index count, std::size_t scalar_bytes) const = 0;
  };
  template <class Source>
  struct model final : concept_t {
    explicit model(Source s) : source(std::move(s)) {}
    Eigen::Index rows() const override { return source.rows(); }
    Eigen::Index cols() const override { return source.cols(); }
    void read(Eigen::Index first, Eigen::Index count, block_ref out) const override {
      source.template read<Scalar>(first, count, out);
    }
    std::size_t scratch(Eigen::Index count, std::size_t scalar_bytes) const override {
      return act::read_scratch_bytes(source, count, scalar_bytes);
    }
    Source source;
  };
  std::shared_ptr<const concept_t> self_;
};

/// Column sources of the same width one after the other: the rows of the first, then of the second, ...
/// (what several activation files of one side are). No source is an empty one: 0 rows, 0 columns.
template <class Scalar>
class stacked_columns {
 public:
  stacked_columns() = default;

  /// Appends `part`; throws act::shape_error when its width differs from the parts before it, naming
  /// `name` (e.g. the file) and both widths.
  void push_back(any_columns<Scalar> part, const std::string& name = "part") {
    if (!parts_.empty() && part.cols() != parts_.front().cols())
      raise<shape_error>("{}: has {} neurons (columns), but {} has {}; the rows of one side must have the same width",
                         name, part.cols(), first_name_, parts_.front().cols());
    if (parts_.empty()) first_name_ = name;
    rows_ += part.rows();
    parts_.push_back(std::move(part));
  }

  std::size_t size() const { return parts_.size(); }
  Eigen::Index rows() const { return rows_; }
  Eigen::Index cols() const { return parts_.empty() ? 0 : parts_.front().cols(); }

  template <class S>
  void read(Eigen::Index first, Eigen::Index count,
            Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> out) const {
    static_assert(std::is_same_v<S, Scalar>, "stacked_columns<Scalar> reads Scalar only");
    Eigen::Index row = 0;
    for (const auto& part : parts_) {
      part.template read<Scalar>(first, count, out.middleRows(row, part.rows()));
      row += part.rows();
    }
  }
  std::size_t read_scratch_bytes(Eigen::Index count, std::size_t scalar_bytes) const {
    std::size_t most = 0;
    for (const auto& part : parts_) most = std::max(most, part.read_scratch_bytes(count, scalar_bytes));
    return most;
  }

 private:
  std::vector<any_columns<Scalar>> parts_;
  std::string first_name_;
  Eigen::Index rows_ = 0;
};

}  // namespace act
