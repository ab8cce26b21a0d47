// Which malloc the process runs on. Release builds of `inferline` link jemalloc
// (CMake option INFERLINE_MALLOC, docs/benchmarks.md has the measurement); sanitizer and fuzz
// builds keep glibc's, which ASan replaces with its own.
//
// Thread-safety: safe from any thread.
#pragma once

#include <string>

namespace inferline {

// "jemalloc <version>" when jemalloc provides malloc in this process, else "glibc".
std::string AllocatorName();

}  // namespace inferline
