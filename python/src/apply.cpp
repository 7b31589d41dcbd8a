// Applying a hook to a Python array in place: reading apply's arguments (plan_apply) and running the hook
// on the buffer's element type (run_apply).

#include <cmath>
#include <string>

#include <act/hooks.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>

#include "binding.hpp"

namespace act_python {
namespace {

bool is_number(py::handle h) {
  return PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) ||
         (py::isinstance<py::array>(h) && py::reinterpret_borrow<py::array>(h).ndim() == 0);
}

/// Anything array-like (NumPy, torch CPU tensors, lists) as a flat NumPy array of `Type`.
template <class Type>
py::array_t<Type> flat_array(py::handle values) {
  py::object numpy = py::module_::import("numpy");
  py::object a = numpy.attr("asarray")(values);
  if constexpr (std::is_same_v<Type, bool>) a = numpy.attr("not_equal")(a, 0);
  return py::array_t<Type, py::array::c_style | py::array::forcecast>::ensure(a.attr("ravel")());
}

std::string shape_text(const array_ref& x) {
  std::string s;
  for (const Eigen::Index e : x.shape()) s += (s.empty() ? "" : ", ") + std::to_string(e);
  return "[" + s + "]";
}

}  // namespace

std::string describe(py::handle object) { return py::repr(object); }

apply_plan plan_apply(const array_ref& x, py::handle strength, py::handle mask, py::handle lengths, int threads,
                      bool scalar_strength) {
  apply_plan plan;
  if (threads < 0) act::raise<act::invalid_argument>("apply: threads must be >= 0 (0 = all cores), got {}", threads);
  plan.threads = threads;
  const bool has_mask = !mask.is_none(), has_lengths = !lengths.is_none();
  const bool per_row = !strength.is_none() && !is_number(strength);
  if (int(has_mask) + int(has_lengths) + int(per_row) > 1)
    act::raise<act::invalid_argument>("apply: give at most one of mask, lengths and per-row strengths");
  if (!strength.is_none() && !per_row) {
    if (!scalar_strength)
      act::raise<act::invalid_argument>(
          "MapSet.apply: strength takes one value per row; set the set's strengths with set_strength");
    plan.strength = strength.cast<double>();
  }
  x.require_ndim(1, 4, "a 1-D [d], 2-D [rows x d], 3-D [batch x tokens x d] or 4-D [N x C x H x W] array");
  const auto& shape = x.shape();
  const auto& strides = x.strides();

  if (x.ndim() == 4) {
    if (has_mask || has_lengths || per_row)
      act::raise<act::invalid_argument>(
          "apply: a 4-D [N x C x H x W] array is steered channel-spatially; mask, lengths and "
          "per-row strengths do not apply");
    if (!x.c_contiguous())
      act::raise<act::invalid_argument>(
          "{}: a 4-D [N x C x H x W] array must be C-contiguous, got shape {} with strides in "
          "elements ({}, {}, {}, {})",
          x.name(), shape_text(x), strides[0], strides[1], strides[2], strides[3]);
    plan.how = apply_plan::mode::channel_spatial;
    plan.images = shape[0];
    plan.channels = shape[1];
    plan.positions = shape[2] * shape[3];
    return plan;
  }

  // Rows x cols with element strides; extents of 1 never step, so their strides are irrelevant.
  Eigen::Index sequences = 1, tokens = 1;
  if (x.ndim() == 1) {
    plan.rows = 1;
    plan.cols = shape[0];
    plan.col_stride = shape[0] <= 1 ? 1 : strides[0];
    plan.row_stride = plan.cols;
  } else if (x.ndim() == 2) {
    plan.rows = shape[0];
    plan.cols = shape[1];
    plan.row_stride = shape[0] <= 1 ? shape[1] : strides[0];
    plan.col_stride = shape[1] <= 1 ? 1 : strides[1];
  } else {
    sequences = shape[0];
    tokens = shape[1];
    plan.rows = sequences * tokens;
    plan.cols = shape[2];
    plan.col_stride = shape[2] <= 1 ? 1 : strides[2];
    if (tokens > 1 && sequences > 1 && strides[0] != tokens * strides[1])
      act::raise<act::invalid_argument>(
          "{}: a [batch x tokens x d] array must hold its rows at one stride (stride[0] = tokens * stride[1]); got "
          "shape {} "
          "with strides in elements ({}, {}, {}): make it contiguous first",
          x.name(), shape_text(x), strides[0], strides[1], strides[2]);
    plan.row_stride = tokens > 1 ? strides[1] : sequences > 1 ? strides[0] : plan.cols;
  }
  if ((plan.rows > 1 && plan.row_stride <= 0) || (plan.cols > 1 && plan.col_stride <= 0))
    act::raise<act::invalid_argument>(
        "{}: negative or zero strides ({} between rows, {} between neurons) cannot be edited in "
        "place; copy the array first",
        x.name(), plan.row_stride, plan.col_stride);

  if (has_mask) {
    const auto m = flat_array<bool>(mask);
    plan.how = apply_plan::mode::masked;
    plan.mask.assign(m.data(), m.data() + m.size());
  } else if (has_lengths) {
    const auto l = flat_array<std::int64_t>(lengths);
    std::vector<Eigen::Index> values(l.data(), l.data() + l.size());
    if (x.ndim() == 3) {
      // Padded [batch x tokens x d]: sequence b's last valid token is row b * tokens + lengths[b] - 1.
      if (static_cast<Eigen::Index>(values.size()) != sequences)
        act::raise<act::shape_error>("apply: {} lengths for a batch of {} sequences", values.size(), sequences);
      plan.how = apply_plan::mode::masked;
      plan.mask.assign(static_cast<std::size_t>(plan.rows), 0);
      for (std::size_t b = 0; b < values.size(); ++b) {
        if (values[b] < 1 || values[b] > tokens)
          act::raise<act::invalid_argument>("apply: lengths[{}] = {}; need 1 to {} (the tokens per sequence)", b,
                                            values[b], tokens);
        plan.mask[b * static_cast<std::size_t>(tokens) + static_cast<std::size_t>(values[b] - 1)] = 1;
      }
    } else {
      plan.how = apply_plan::mode::last_rows;  // packed sequences, as the C++ hooks' last_rows
      plan.lengths = std::move(values);
    }
  } else if (per_row) {
    const auto s = flat_array<float>(strength);
    plan.how = apply_plan::mode::per_row;
    if (x.ndim() == 3 && s.size() == sequences && sequences != plan.rows) {
      // One strength per sequence: every token of sequence b at s[b].
      plan.lambdas.reserve(static_cast<std::size_t>(plan.rows));
      for (Eigen::Index b = 0; b < sequences; ++b)
        plan.lambdas.insert(plan.lambdas.end(), static_cast<std::size_t>(tokens), s.data()[b]);
    } else {
      plan.lambdas.assign(s.data(), s.data() + s.size());
    }
  }
  return plan;
}

namespace {

template <class T, class Hook>
void run_on(const Hook& hook, const array_ref& x, const apply_plan& plan) {
  T* data = static_cast<T*>(x.data());
  if (plan.how == apply_plan::mode::channel_spatial) {
    hook.channel_spatial(data, plan.images, plan.channels, plan.positions);
    return;
  }
  const act::activations<T> view{data, plan.rows, plan.cols, plan.row_stride, plan.col_stride};
  switch (plan.how) {
    case apply_plan::mode::all:
      if (plan.threads == 1)
        hook(view);
      else
        hook(view, plan.threads);
      break;
    case apply_plan::mode::masked:
      hook.masked(view, plan.mask);
      break;
    case apply_plan::mode::last_rows:
      hook.last_rows(view, plan.lengths);
      break;
    case apply_plan::mode::per_row:
      hook.per_row(view, plan.lambdas);
      break;
    case apply_plan::mode::channel_spatial:
      break;
  }
}

template <class Hook>
void run_float_hook(const Hook& hook, const array_ref& x, const apply_plan& plan) {
  switch (x.type()) {
    case dtype::f32:
      return run_on<float>(hook, x, plan);
    case dtype::f64:
      return run_on<double>(hook, x, plan);
    case dtype::f16:
      return run_on<Eigen::half>(hook, x, plan);
    case dtype::bf16:
      return run_on<Eigen::bfloat16>(hook, x, plan);
  }
}

template <class Hook>
void run_double_hook(const Hook& hook, const array_ref& x, const apply_plan& plan) {
  if (x.type() != dtype::f64)
    act::raise<act::invalid_argument>("{}: a float64 hook applies to float64 arrays only", x.name());
  run_on<double>(hook, x, plan);
}

}  // namespace

void run_apply(const act::affine_hook<float>& hook, const array_ref& x, const apply_plan& plan) {
  run_float_hook(hook, x, plan);
}
void run_apply(const act::quantile_hook<float>& hook, const array_ref& x, const apply_plan& plan) {
  run_float_hook(hook, x, plan);
}
void run_apply(const act::affine_hook<double>& hook, const array_ref& x, const apply_plan& plan) {
  run_double_hook(hook, x, plan);
}
void run_apply(const act::quantile_hook<double>& hook, const array_ref& x, const apply_plan& plan) {
  run_double_hook(hook, x, plan);
}

}  // namespace act_python
