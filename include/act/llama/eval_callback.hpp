#pragma once
/// \file eval_callback.hpp
/// act inside llama.cpp: steering with any act map, and activation capture, through llama.cpp's public
/// graph callback `llama_context_params::cb_eval`. Needs llama.cpp's headers and libraries (CMake target
/// `llama`); not included by <act/act.hpp>.
///
///     act::llama::eval_callback steer(act::load_maps("toxicity.safetensors"), 0.8);   // sites: l_out-12, ...
///     llama_context_params params = llama_context_default_params();
///     steer.attach(params);                      // sets cb_eval and its user data
///     llama_context* ctx = llama_init_from_model(model, params);
///     llama_decode(ctx, batch);
///     steer.check();                             // throws act::error for what went wrong in that decode
///
/// How it works: llama.cpp asks the callback, node by node in graph order, whether it wants to see a tensor
/// (`ask = true`); for the tensors it said yes to, it calls again once the tensor is computed (`ask =
/// false`). A tensor in host memory (the CPU backend) is edited in place; one in a device buffer (layers
/// offloaded with n_gpu_layers > 0: a GPU, or an RPC server) has its rows copied out with
/// ggml_backend_tensor_get, steered, and copied back with ggml_backend_tensor_set, with the same results.
/// The callback says yes only to tensors it steers or captures, so the graph is cut into no more pieces
/// than needed (each yes costs one synchronisation, and off the host two copies). A map applies to the
/// graph tensor whose name equals its site name, as llama.cpp names them: `l_out-N` (output of 0-based
/// block N, where llama.cpp's control vectors add), `attn_norm-N`, `kqv_out-N`, `attn_out-N`, `ffn_inp-N`,
/// `ffn_norm-N`, `ffn_out-N`, `result_norm`, ...
/// Every row (token) of the tensor is transformed; in the last block llama.cpp keeps only the rows of
/// output tokens, so there only those are.
///
/// Capture records the same tensors, after any map at them is applied: every row (pooling std::nullopt)
/// or one pooled sample per prompt (mean / last / max / min over the prompt's tokens). For pooling the
/// host says, before each llama_decode, which prompt each row of the batch belongs to (expect_batch); the
/// rows of a tensor must arrive in batch order, which llama.cpp guarantees when each decode holds one
/// sequence, or several with `kv_unified = true` (then ubatches are cut from the batch in order). With
/// `kv_unified = false` and several sequences, llama.cpp regroups rows by sequence: do not pool those.
///
/// Errors inside the callback cannot cross llama.cpp's C interface; they are kept and thrown by check()
/// after the decode (as act::shape_error when every problem is a width, act::non_finite_error when every
/// problem is an overflow, else act::invalid_argument):
/// - a site or captured tensor whose name the graph never produces (known once the first graph has been
///   computed; the message lists the names the graph does have),
/// - a name llama.cpp gives to several nodes (Qcur-N, Kcur-N, norm-N: reshapes and ropes of one value),
/// - a tensor type other than F32, F16, BF16, a map width other than the tensor's row length,
/// - a map whose result is Inf or NaN where the tensor's value was finite, or a row whose squared norm
///   overflows a float (a strength too large for the map),
/// - captured rows that do not match the batch described by expect_batch.
/// One eval_callback serves one llama_context (it learns that context's graph) and must outlive it.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>
#include <ggml-backend.h>
#include <ggml.h>
#include <llama.h>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/sites/map_set.hpp>
#include <act/sites/pooling.hpp>

namespace act::llama {

/// Steers and captures llama.cpp graph tensors by name (see the file comment).
class eval_callback {
 public:
  /// Neither steers nor captures until told to.
  eval_callback() = default;
  /// Steers with `maps` at strength `lambda` (the set's per-site overrides stay in force).
  eval_callback(map_set maps, double lambda) { steer(std::move(maps), lambda); }

  // llama.cpp keeps a pointer to this object.
  eval_callback(const eval_callback&) = delete;
  eval_callback& operator=(const eval_callback&) = delete;

  // ---- steering ---------------------------------------------------------------------------------

  /// Applies every map of `maps` at its tensor from the next decode on, at global strength `lambda`.
  void steer(map_set maps, double lambda) {
    maps.set_strength(lambda);
    maps_ = std::move(maps);
    watched_changed();
  }
  /// Changes the global strength of the maps (per-site overrides stay).
  void set_strength(double lambda) { maps_.set_strength(lambda); }
  /// Stops steering.
  void stop_steering() {
    maps_ = map_set{};
    watched_changed();
  }
  const map_set& maps() const { return maps_; }

  // ---- capture ----------------------------------------------------------------------------------

  /// Starts capturing `tensors` (previous captures are dropped): one pooled sample per prompt with
  /// `how`, or every row with std::nullopt. Pooling needs expect_batch before every decode.
  void capture(const std::vector<std::string>& tensors, std::optional<pooling> how = pooling::mean) {
    captures_.clear();
    for (const auto& name : tensors) {
      if (name.empty()) raise<invalid_argument>("capture: empty tensor name");
      if (!captures_.emplace(name, captured{}).second)
        raise<invalid_argument>("capture: tensor '{}' listed twice", name);
    }
    pooling_ = how;
    samples_ = 0;
    watched_changed();
  }
  /// Stops capturing and drops what was captured.
  void stop_capture() {
    captures_.clear();
    watched_changed();
  }
  /// The tensors being captured, in name order.
  std::vector<std::string> captured_tensors() const {
    std::vector<std::string> out;
    for (const auto& kv : captures_) out.push_back(kv.first);
    return out;
  }

  /// Before a decode while pooling: `sample_of_row[k]` is the prompt (sample index, >= 0) that row k of
  /// the batch belongs to, in batch order; -1 leaves the row out of every sample. Sample indices keep
  /// counting across decodes, so prompts may be spread over many batches.
  void expect_batch(std::vector<int> sample_of_row) {
    for (const int s : sample_of_row) {
      if (s < -1) raise<invalid_argument>("expect_batch: sample index {} (use -1 for rows to leave out)", s);
      samples_ = std::max<Eigen::Index>(samples_, static_cast<Eigen::Index>(s) + 1);
    }
    sample_of_row_ = std::move(sample_of_row);
    for (auto& kv : captures_) kv.second.rows_this_pass = 0;
    batch_expected_ = true;
  }

  /// The pooled samples of `tensor`: [samples x width], row s pooled over the rows of prompt s. Prompts
  /// that had no row (none expected yet) are an error.
  Eigen::MatrixXf samples(std::string_view tensor) const {
    const captured& c = capture_of(tensor, "samples");
    if (!pooling_) raise<invalid_argument>("samples: '{}' is captured row by row; use rows()", tensor);
    Eigen::MatrixXf out(samples_, std::max<Eigen::Index>(c.width, 0));
    for (Eigen::Index s = 0; s < samples_; ++s) {
      const Eigen::Index n = s < static_cast<Eigen::Index>(c.counts.size()) ? c.counts[static_cast<std::size_t>(s)] : 0;
      if (n == 0) raise<invalid_argument>("samples: tensor '{}' has no row of prompt {}", tensor, s);
      for (Eigen::Index j = 0; j < c.width; ++j) {
        const std::size_t at = static_cast<std::size_t>(s * c.width + j);
        out(s, j) = *pooling_ == pooling::mean ? static_cast<float>(c.acc[at] / static_cast<double>(n))
                                               : static_cast<float>(c.acc[at]);
      }
    }
    return out;
  }
  /// Every captured row of `tensor` in arrival order: [rows x width] (capture with std::nullopt).
  Eigen::MatrixXf rows(std::string_view tensor) const {
    const captured& c = capture_of(tensor, "rows");
    if (pooling_) raise<invalid_argument>("rows: '{}' is captured pooled; use samples()", tensor);
    const Eigen::Index width = std::max<Eigen::Index>(c.width, 0);
    const Eigen::Index n = width == 0 ? 0 : static_cast<Eigen::Index>(c.row_data.size()) / width;
    return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(c.row_data.data(), n,
                                                                                                   width);
  }
  /// Drops captured values, keeping the capture running.
  void clear_captured() {
    for (auto& kv : captures_) kv.second = captured{};
    samples_ = 0;
  }

  // ---- hooking into llama.cpp -------------------------------------------------------------------

  /// Installs the callback in context parameters (before llama_init_from_model). A callback already set
  /// there keeps working: it is asked and called too.
  void attach(llama_context_params& params) {
    if (params.cb_eval != &eval_callback::callback || params.cb_eval_user_data != this) {
      next_ = params.cb_eval;
      next_data_ = params.cb_eval_user_data;
    }
    params.cb_eval = &eval_callback::callback;
    params.cb_eval_user_data = this;
  }

  /// The function llama.cpp calls (user data: this object). Never throws.
  static bool callback(ggml_tensor* t, bool ask, void* user_data) noexcept {
    auto* self = static_cast<eval_callback*>(user_data);
    try {
      return ask ? self->on_ask(t) : self->on_computed(t);
    } catch (const shape_error& e) {
      self->errors_.emplace_back(e.what());
      self->shape_errors_.emplace_back(e.what());
    } catch (const non_finite_error& e) {
      self->errors_.emplace_back(e.what());
      self->non_finite_errors_.emplace_back(e.what());
    } catch (const std::exception& e) {
      self->errors_.emplace_back(e.what());
    } catch (...) {
      self->errors_.emplace_back("unknown exception in the eval callback");
    }
    // After ask = false llama.cpp must hear true, or it skips the rest of the graph split.
    return !ask;
  }

  /// After every llama_decode: throws what went wrong in it (all problems in one message); once the
  /// first graph is known, also a name it does not produce or gives to several nodes.
  void check() {
    if (!graph_known_ && !graph_.empty()) graph_known_ = true;
    if (graph_known_ && !watched_checked_) check_watched_names();
    if (batch_expected_ && pooling_) {
      for (const auto& [name, c] : captures_) {
        if (bad_.find(name) != bad_.end()) continue;
        if (c.rows_this_pass != static_cast<Eigen::Index>(sample_of_row_.size()) && !graph_.empty())
          errors_.push_back(fmt::format(
              "capture: tensor '{}' had {} rows in this decode but the batch has {} tokens{}", name, c.rows_this_pass,
              sample_of_row_.size(),
              c.rows_this_pass < static_cast<Eigen::Index>(sample_of_row_.size())
                  ? " (llama.cpp keeps only the rows of output tokens in the last block: mark every token as an output)"
                  : ""));
      }
      batch_expected_ = false;
    }
    if (errors_.empty()) return;
    std::string message;
    for (const auto& e : errors_) {
      if (message.find(e) != std::string::npos) continue;  // the same problem in every ubatch: once
      message += message.empty() ? e : "; " + e;
    }
    const bool shapes_only = shape_errors_.size() == errors_.size();
    const bool overflows_only = non_finite_errors_.size() == errors_.size();
    errors_.clear();
    shape_errors_.clear();
    non_finite_errors_.clear();
    if (shapes_only) throw shape_error(message);
    if (overflows_only) throw non_finite_error(message);
    throw invalid_argument(message);
  }

  /// Names of the first computed graph's nodes, in graph order, each once (empty before a decode).
  std::vector<std::string> graph_names() const {
    std::vector<std::pair<std::size_t, std::string>> order;
    for (const auto& [name, node] : graph_) order.emplace_back(node.first_index, name);
    std::sort(order.begin(), order.end());
    std::vector<std::string> out;
    for (auto& o : order) out.push_back(std::move(o.second));
    return out;
  }

 private:
  /// What the first graph showed of one node name.
  struct node_record {
    std::size_t first_index = 0;
    int count = 0;
    std::vector<std::string> ops;
  };
  /// One captured tensor.
  struct captured {
    Eigen::Index width = -1;
    std::vector<double> acc;           // pooled: samples x width (sums, last rows, maxima or minima)
    std::vector<Eigen::Index> counts;  // pooled: rows per sample
    std::vector<float> row_data;       // rows mode: every row
    Eigen::Index rows_this_pass = 0;
  };

  bool watches(std::string_view name) const { return maps_.contains(name) || captures_.find(name) != captures_.end(); }

  void watched_changed() {
    watched_checked_ = false;
    bad_.clear();
  }

  const captured& capture_of(std::string_view tensor, const char* who) const {
    const auto it = captures_.find(tensor);
    if (it == captures_.end()) raise<invalid_argument>("{}: tensor '{}' is not captured", who, tensor);
    return it->second;
  }

  /// Records the node names of the first graph: it ends when its first node's name comes round again
  /// (the next ubatch or decode) or at check().
  void observe(const ggml_tensor* t, std::string_view name) {
    if (graph_known_) return;
    if (!graph_.empty() && name == first_name_) {
      graph_known_ = true;
      return;
    }
    if (graph_.empty()) first_name_ = std::string(name);
    auto [it, fresh] = graph_.try_emplace(std::string(name));
    if (fresh) it->second.first_index = graph_.size() - 1;
    ++it->second.count;
    it->second.ops.emplace_back(ggml_op_name(t->op));
    if (it->second.count > 1 && watches(name) && bad_.insert(std::string(name)).second)
      errors_.push_back(ambiguous_message(name, it->second));
  }

  static std::string ambiguous_message(std::string_view name, const node_record& node) {
    return fmt::format(
        "llama.cpp gives the name '{}' to {} graph nodes ({}); act steers and captures only tensors "
        "with a name of their own",
        name, node.count, fmt::join(node.ops, ", "));
  }

  /// After the first graph: every steered or captured name must name exactly one node.
  void check_watched_names() {
    watched_checked_ = true;
    std::vector<std::string> names = maps_.sites();
    for (const auto& kv : captures_) names.push_back(kv.first);
    for (const auto& name : names) {
      const auto it = graph_.find(name);
      if (it == graph_.end()) {
        errors_.push_back(fmt::format("no tensor named '{}' in llama.cpp's graph of this model (it has {})", name,
                                      summarize(graph_names())));
        bad_.insert(name);
      } else if (it->second.count > 1 && bad_.insert(name).second) {
        errors_.push_back(ambiguous_message(name, it->second));
      }
    }
  }

  /// "l_out-0..l_out-3, attn_norm-0..attn_norm-3, ...": node names with their layer ranges folded.
  static std::string summarize(const std::vector<std::string>& names) {
    std::vector<std::string> stems;
    std::map<std::string, std::pair<long, long>> ranges;
    for (const auto& n : names) {
      const auto dash = n.rfind('-');
      const bool numbered = dash != std::string::npos && dash + 1 < n.size() &&
                            std::all_of(n.begin() + static_cast<std::ptrdiff_t>(dash) + 1, n.end(),
                                        [](char c) { return c >= '0' && c <= '9'; });
      const std::string stem = numbered ? n.substr(0, dash) : n;
      if (n.rfind("node_", 0) == 0 || n.find(" (") != std::string::npos || n.empty()) continue;  // unnamed nodes, views
      const long layer = numbered && n.size() - dash <= 9 ? std::stol(n.substr(dash + 1)) : -1;
      const std::string key = layer < 0 ? n : stem + "-";  // "norm" and "norm-0..norm-3" apart
      auto [it, fresh] = ranges.try_emplace(key, layer, layer);
      if (fresh) stems.push_back(key);
      it->second.first = std::min(it->second.first, layer);
      it->second.second = std::max(it->second.second, layer);
    }
    std::string out;
    for (const auto& key : stems) {
      const auto [lo, hi] = ranges[key];
      if (!out.empty()) out += ", ";
      out += lo < 0 ? key : lo == hi ? fmt::format("{}{}", key, lo) : fmt::format("{}{}..{}{}", key, lo, key, hi);
    }
    return out;
  }

  bool on_ask(ggml_tensor* t) {
    const std::string_view name(t->name);
    observe(t, name);
    next_wants_ = next_ != nullptr && next_(t, true, next_data_);
    if (!watches(name) || bad_.find(name) != bad_.end()) return next_wants_;
    if (maps_.contains(name) && captures_.find(name) == captures_.end() && maps_.strength(name) == 0.0)
      return next_wants_;
    if (const char* problem = unusable(t)) {
      bad_.insert(std::string(name));
      errors_.push_back(
          fmt::format("tensor '{}' ({} {}): {}", name, ggml_type_name(t->type), ggml_op_name(t->op), problem));
      return next_wants_;
    }
    return true;
  }

  /// Why act cannot read or edit `t` in place, or nullptr.
  static const char* unusable(const ggml_tensor* t) {
    if (t->buffer == nullptr || t->data == nullptr) return "has no memory of its own at this point of the graph";
    if (t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16 && t->type != GGML_TYPE_BF16)
      return "is neither F32, F16 nor BF16";
    if (t->nb[0] != ggml_type_size(t->type)) return "has non-contiguous rows";
    for (int d = 1; d < GGML_MAX_DIMS; ++d)
      if (t->nb[d] % t->nb[0] != 0) return "has strides that are not whole elements";
    return nullptr;
  }

  bool on_computed(ggml_tensor* t) {
    const std::string_view name(t->name);
    const bool next_asked = next_wants_;
    next_wants_ = false;
    if (watches(name) && bad_.find(name) == bad_.end()) {
      switch (t->type) {
        case GGML_TYPE_F32:
          visit_rows<float>(t, name);
          break;
        case GGML_TYPE_F16:
          visit_rows<Eigen::half>(t, name);
          break;
        case GGML_TYPE_BF16:
          visit_rows<Eigen::bfloat16>(t, name);
          break;
        default:
          break;  // refused at ask time
      }
    }
    // A callback installed before this one decides for itself whether the graph goes on.
    return next_asked ? next_(t, false, next_data_) : true;
  }

  /// Steers, then captures, every block of contiguous rows of `t` (ne[1] x ne[2] x ne[3] rows of ne[0]).
  /// Off the host each block is copied out and, when steered, back.
  template <class T>
  void visit_rows(ggml_tensor* t, std::string_view name) {
    const Eigen::Index width = t->ne[0];
    const auto elem = static_cast<Eigen::Index>(t->nb[0]);
    const Eigen::Index stride = static_cast<Eigen::Index>(t->nb[1]) / elem;
    const bool flat = t->nb[2] == t->nb[1] * static_cast<std::size_t>(t->ne[1]) &&
                      t->nb[3] == t->nb[2] * static_cast<std::size_t>(t->ne[2]);
    const Eigen::Index block_rows = flat ? t->ne[1] * t->ne[2] * t->ne[3] : t->ne[1];
    const map_set::entry* entry = maps_.find(name);
    if (entry != nullptr) {
      const Eigen::Index dim = std::visit([](const auto& m) { return m.dim(); }, entry->map);
      if (dim != width) {
        bad_.insert(std::string(name));
        raise<shape_error>("site '{}': the map has width {} but llama.cpp's tensor has rows of {} ({} {} [{} x {}])",
                           name, dim, width, ggml_type_name(t->type), ggml_op_name(t->op), t->ne[0], t->ne[1]);
      }
    }
    const auto it = captures_.find(name);
    captured* cap = it == captures_.end() ? nullptr : &it->second;
    const bool host = ggml_backend_buffer_is_host(t->buffer);
    // The bytes of one block: its rows and the gaps between them (one copy each way, not one per row).
    const std::size_t block_bytes =
        block_rows == 0 ? 0 : static_cast<std::size_t>(((block_rows - 1) * stride + width) * elem);
    for (int64_t i3 = 0; i3 < (flat ? 1 : t->ne[3]); ++i3)
      for (int64_t i2 = 0; i2 < (flat ? 1 : t->ne[2]); ++i2) {
        const std::size_t offset = static_cast<std::size_t>(i2) * t->nb[2] + static_cast<std::size_t>(i3) * t->nb[3];
        T* data = nullptr;
        if (host) {
          data = reinterpret_cast<T*>(static_cast<char*>(t->data) + offset);
        } else {
          device_rows_.resize((block_bytes + sizeof(float) - 1) / sizeof(float));
          ggml_backend_tensor_get(t, device_rows_.data(), offset, block_bytes);
          data = reinterpret_cast<T*>(device_rows_.data());
        }
        const activations<T> x = view(data, block_rows, width, stride);
        if (entry != nullptr) steer_rows(name, x);
        if (cap != nullptr) record(*cap, name, x);
        if (!host && entry != nullptr) ggml_backend_tensor_set(t, device_rows_.data(), offset, block_bytes);
      }
  }

  /// Applies the map at `name` to `x`, refusing results that overflow where the input was finite, and rows
  /// whose squared norm overflows a float: llama.cpp's norms would turn those into zeros without a word.
  template <class T>
  void steer_rows(std::string_view name, const activations<T>& x) {
    before_.resize(static_cast<std::size_t>(x.rows * x.cols));
    for (Eigen::Index r = 0; r < x.rows; ++r)
      for (Eigen::Index j = 0; j < x.cols; ++j)
        before_[static_cast<std::size_t>(r * x.cols + j)] = static_cast<float>(x.data[r * x.row_stride + j]);
    maps_(name, x);
    act::check_applied(
        fmt::format("site '{}'", name), maps_.strength(name), x.rows, x.cols,
        [&](Eigen::Index r, Eigen::Index j) { return before_[static_cast<std::size_t>(r * x.cols + j)]; },
        [&](Eigen::Index r, Eigen::Index j) { return static_cast<float>(x.data[r * x.row_stride + j]); });
    for (Eigen::Index r = 0; r < x.rows; ++r) {
      double squares = 0;
      for (Eigen::Index j = 0; j < x.cols; ++j) {
        const double v = static_cast<float>(x.data[r * x.row_stride + j]);
        squares += v * v;
      }
      if (squares > static_cast<double>(std::numeric_limits<float>::max()))
        raise<non_finite_error>(
            "site '{}' at strength {} makes row {} so large that its squared norm ({:.3g}) overflows a "
            "float: llama.cpp's norms would turn it into zeros; use a smaller strength",
            name, maps_.strength(name), r, squares);
    }
  }

  template <class T>
  void record(captured& c, std::string_view name, const activations<T>& x) {
    if (c.width < 0) c.width = x.cols;
    if (c.width != x.cols)
      raise<shape_error>("capture: tensor '{}' changed its row length from {} to {}", name, c.width, x.cols);
    if (!pooling_) {
      for (Eigen::Index r = 0; r < x.rows; ++r)
        for (Eigen::Index j = 0; j < x.cols; ++j)
          c.row_data.push_back(static_cast<float>(x.data[r * x.row_stride + j]));
      return;
    }
    if (!batch_expected_)
      raise<invalid_argument>("capture: pooling tensor '{}' needs expect_batch() before each decode", name);
    const auto needed = static_cast<std::size_t>(samples_ * c.width);
    if (c.acc.size() < needed) {
      c.acc.resize(needed, 0.0);
      c.counts.resize(static_cast<std::size_t>(samples_), 0);
    }
    for (Eigen::Index r = 0; r < x.rows; ++r, ++c.rows_this_pass) {
      if (c.rows_this_pass >= static_cast<Eigen::Index>(sample_of_row_.size()))
        raise<invalid_argument>("capture: tensor '{}' has more rows in this decode than the batch has tokens ({})",
                                name, sample_of_row_.size());
      const int s = sample_of_row_[static_cast<std::size_t>(c.rows_this_pass)];
      if (s < 0) continue;
      double* acc = c.acc.data() + static_cast<std::size_t>(s) * static_cast<std::size_t>(c.width);
      const bool first = c.counts[static_cast<std::size_t>(s)]++ == 0;
      const T* row = x.data + r * x.row_stride;
      for (Eigen::Index j = 0; j < x.cols; ++j) {
        const double v = static_cast<float>(row[j]);
        switch (*pooling_) {
          case pooling::mean:
            acc[j] += v;
            break;
          case pooling::last:
            acc[j] = v;
            break;
          case pooling::max:
            acc[j] = first ? v : std::max(acc[j], v);
            break;
          case pooling::min:
            acc[j] = first ? v : std::min(acc[j], v);
            break;
        }
      }
    }
  }

  map_set maps_;
  std::map<std::string, captured, std::less<>> captures_;
  std::optional<pooling> pooling_ = pooling::mean;
  Eigen::Index samples_ = 0;
  std::vector<int> sample_of_row_;
  bool batch_expected_ = false;

  std::map<std::string, node_record, std::less<>> graph_;  // the first graph's node names
  std::string first_name_;
  bool graph_known_ = false;
  bool watched_checked_ = false;
  std::set<std::string, std::less<>> bad_;  // names refused (reported once)
  std::vector<std::string> errors_;
  std::vector<std::string> shape_errors_;       // the errors that are shape_errors
  std::vector<std::string> non_finite_errors_;  // the errors that are non_finite_errors

  std::vector<float> device_rows_;  // a block of rows copied out of a device buffer
  std::vector<float> before_;       // a steered block's values before its map, for the overflow check

  ggml_backend_sched_eval_callback next_ = nullptr;  // a callback that was installed before this one
  void* next_data_ = nullptr;
  bool next_wants_ = false;
};

}  // namespace act::llama
