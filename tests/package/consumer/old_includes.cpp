// The same fit through the single-header paths that act 0.1 users wrote (deprecated forwarders since act 0.2),
// saved to the map file named by argv[1], loaded back and applied; exits 0 when the result is right.
#include <act/affine_hook.hpp>
#include <act/io/map_file.hpp>
#include <act/linear_act.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string path = argv[1];
  Eigen::MatrixXf a(3, 1), b(3, 1);
  a << 0, 1, 2;
  b << 1, 3, 5;
  const auto fit = act::linear_act{}.fit(a, b);  // omega 2, beta 1
  act::map_set maps;
  maps.insert("blk.0", fit.map);
  act::save_maps(path, maps);
  const act::map_set back = act::load_maps(path);
  std::remove(path.c_str());
  float x = 1.0f, y = 1.0f;
  act::affine_hook<float>(fit.map, 1.0)(act::view(&x, 1, 1));
  return back("blk.0", act::view(&y, 1, 1)) && x == 3.0f && y == 3.0f ? 0 : 1;
}
