// libFuzzer target: arbitrary bytes as a safetensors file. Whatever the header claims, opening
// must either fail cleanly or yield tensors whose every byte can be read.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferline::engine;
  auto wf = WeightFile::FromBuffer({reinterpret_cast<const std::byte*>(data), size});
  if (!wf.ok()) return 0;
  std::vector<float> out;
  for (const auto& name : (*wf)->Names()) {
    auto t = (*wf)->Get(name);
    if (!t.ok()) continue;
    const int64_t shape[] = {t->numel()};
    (void)(*wf)->Get(name, shape);
    if (t->numel() > (1 << 20)) continue;
    out.assign(static_cast<size_t>(t->numel()), 0.0f);
    ConvertToF32(*t, out);
  }
  return 0;
}
