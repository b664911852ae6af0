#pragma once
// A small seeded PRNG (splitmix64): the same seed gives the same card on
// every machine, which std::uniform_*_distribution does not promise.
#include <cmath>
#include <cstdint>

namespace nex {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Approximately normal (sum of uniforms), deterministic across libms.
  double normal(double sigma) {
    double s = 0;
    for (int i = 0; i < 6; ++i) s += uniform();
    return (s - 3.0) * sigma * 1.41421356237;
  }

 private:
  uint64_t s_;
};

}  // namespace nex
