#include "app/model_path.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <vector>

namespace inferline::app {

std::string DefaultModelPath() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates = {"models/kjv-small"};
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../../../models/kjv-small");  // build/<preset>/bin
    candidates.push_back(exe.parent_path() / "../share/inferline/models/kjv-small");
  }
  for (const auto& c : candidates) {
    if (fs::exists(c / "config.json", ec)) return fs::weakly_canonical(c, ec).string();
  }
  return "models/kjv-small";
}

}  // namespace inferline::app
