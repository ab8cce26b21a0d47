// Where the shipped model lives, so `inferline generate` and `inferline serve` work without
// flags both from the source tree and from an installed layout.
#pragma once

#include <string>

namespace inferline::app {

// The first existing of: ./models/kjv-small, <exe>/../../../models/kjv-small (a build tree),
// <exe>/../share/inferline/models/kjv-small (installed). Returns
// "models/kjv-small" when none exists, so the error names the expected place.
std::string DefaultModelPath();

}  // namespace inferline::app
