// A host's hook point: a map set loaded from a map file, applied to float, half and bfloat16 buffers.
#include <act/host.hpp>

#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  act::map_set maps = act::load_maps(argv[1]);
  maps.set_strength(0.8);
  std::vector<float> f(16 * 64);
  std::vector<Eigen::half> h(16 * 64);
  std::vector<Eigen::bfloat16> b(16 * 64);
  maps("blk.1", act::view(f.data(), 16, 64));
  maps("blk.1", act::view(h.data(), 16, 64));
  maps("blk.1", act::view(b.data(), 16, 64));
  return 0;
}
