#pragma once
/// \file map_set.hpp
/// The map set: the class (map_set_decl.hpp, documented there) and its definitions, out of the class so
/// that they are not inline: linking act::act_compiled (detail/instantiations.hpp) then keeps their code out
/// of every translation unit.

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/core/text.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <act/sites/map_set_decl.hpp>

namespace act {

template <class Scalar>
template <class MapScalar>
void basic_map_set<Scalar>::insert(std::string site, const affine_map<MapScalar>& map, map_info info) {
  emplace(std::move(site), map_type{map.template cast<Scalar>()}, std::move(info));
}

template <class Scalar>
template <class MapScalar>
void basic_map_set<Scalar>::insert(std::string site, const quantile_map<MapScalar>& map, map_info info) {
  emplace(std::move(site), map_type{map.template cast<Scalar>()}, std::move(info));
}

template <class Scalar>
template <class MapScalar>
void basic_map_set<Scalar>::insert(std::string site, const any_map<MapScalar>& map, map_info info) {
  std::visit([&](const auto& m) { insert(std::move(site), m, std::move(info)); }, map);
}

template <class Scalar>
void basic_map_set<Scalar>::erase(std::string_view site) {
  if (auto it = entries_.find(site); it != entries_.end()) entries_.erase(it);
}

template <class Scalar>
std::vector<std::string> basic_map_set<Scalar>::sites() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

template <class Scalar>
auto basic_map_set<Scalar>::find(std::string_view site) const -> const entry* {
  const auto it = entries_.find(site);
  return it == entries_.end() ? nullptr : &it->second;
}

template <class Scalar>
auto basic_map_set<Scalar>::at(std::string_view site) const -> const entry& {
  if (const entry* e = find(site)) return *e;
  raise<invalid_argument>("map_set: no map for site '{}'", site);
}

template <class Scalar>
void basic_map_set<Scalar>::set_strength(double lambda) {
  detail::check_strength("map_set strength", lambda);
  // Every hook first, then commit: a strength one site cannot take changes nothing.
  std::vector<hook_type> hooks;
  hooks.reserve(entries_.size());
  for (const auto& kv : entries_)
    if (!kv.second.strength) hooks.push_back(make_hook(kv.first, kv.second.map, lambda));
  global_strength_ = lambda;
  auto next = hooks.begin();
  for (auto& kv : entries_)
    if (!kv.second.strength) kv.second.hook = std::move(*next++);
}

template <class Scalar>
double basic_map_set<Scalar>::strength(std::string_view site) const {
  const entry& e = at(site);
  return e.strength ? *e.strength : global_strength_;
}

template <class Scalar>
void basic_map_set<Scalar>::set_strength(std::string_view site, double lambda) {
  detail::check_strength(site, lambda);
  entry& e = mutable_at(site);
  e.hook = make_hook(site, e.map, lambda);
  e.strength = lambda;
}

template <class Scalar>
void basic_map_set<Scalar>::reset_strength(std::string_view site) {
  entry& e = mutable_at(site);
  e.hook = make_hook(site, e.map, global_strength_);
  e.strength.reset();
}

template <class Scalar>
template <class T>
bool basic_map_set<Scalar>::operator()(std::string_view site, activations<T> x) const {
  return visit_hook(site, [&](const auto& hook) { hook(x); });
}

template <class Scalar>
template <class T>
bool basic_map_set<Scalar>::operator()(std::string_view site, activations<T> x, executor& ex) const {
  return visit_hook(site, [&](const auto& hook) { hook(x, ex); });
}

template <class Scalar>
template <class T>
bool basic_map_set<Scalar>::last_rows(std::string_view site, activations<T> x,
                                      const std::vector<Eigen::Index>& lengths) const {
  return visit_hook(site, [&](const auto& hook) { hook.last_rows(x, lengths); });
}

template <class Scalar>
template <class T>
bool basic_map_set<Scalar>::masked(std::string_view site, activations<T> x,
                                   const std::vector<std::uint8_t>& mask) const {
  return visit_hook(site, [&](const auto& hook) { hook.masked(x, mask); });
}

template <class Scalar>
template <class T>
bool basic_map_set<Scalar>::per_row(std::string_view site, activations<T> x, const std::vector<float>& lambdas) const {
  return visit_hook(site, [&](const auto& hook) { hook.per_row(x, lambdas); });
}

template <class Scalar>
void basic_map_set<Scalar>::emplace(std::string site, map_type map, map_info info) {
  if (site.empty()) raise<invalid_argument>("map_set: site name is empty");
  check_name("map_set: site name", site);
  const auto check_info = [&site](const char* member, const std::string& value) {
    if (const std::string problem = name_problem(value); !problem.empty())
      raise<invalid_argument>("map_set: site '{}': map_info.{} '{}' {}", site, member, printable(value), problem);
  };
  check_info("method", info.method);
  check_info("pooling", info.pooling);
  check_info("support", info.support);
  std::visit(
      [&](const auto& m) {
        try {
          m.validate();
        } catch (const error& ex) {
          raise<invalid_argument>("map_set: map for site '{}': {}", site, ex.what());
        }
      },
      map);
  hook_type hook = make_hook(site, map, global_strength_);
  entry e{std::move(map), std::move(info), std::nullopt, std::move(hook)};
  // Sites that come in order (a map file being read) are appended without a search.
  if (entries_.empty() || entries_.rbegin()->first < site)
    entries_.emplace_hint(entries_.end(), std::move(site), std::move(e));
  else
    entries_.insert_or_assign(std::move(site), std::move(e));
}

template <class Scalar>
auto basic_map_set<Scalar>::mutable_at(std::string_view site) -> entry& {
  const auto it = entries_.find(site);
  if (it == entries_.end()) raise<invalid_argument>("map_set: no map for site '{}'", site);
  return it->second;
}

template <class Scalar>
auto basic_map_set<Scalar>::make_hook(std::string_view site, const map_type& map, double lambda) -> hook_type {
  try {
    return std::visit(
        [&](const auto& m) -> hook_type {
          using kind = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<kind, affine_map<Scalar>>)
            return affine_hook<Scalar>(m, lambda);
          else
            return quantile_hook<Scalar>(m, lambda);
        },
        map);
  } catch (const non_finite_error& ex) {
    raise<non_finite_error>("map_set: site '{}': {}", site, ex.what());
  }
}

}  // namespace act
