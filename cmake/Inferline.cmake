# Helpers shared by every component's CMakeLists.txt.

set(INFERLINE_WARNINGS -Wall -Wextra -Wno-missing-field-initializers)
# GCC 12 at -O2 reports Asio's coroutine frame allocator as a mismatched new/delete pair (a
# false positive: awaitable_frame_base defines both operators); it breaks -Werror release builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND INFERLINE_WARNINGS -Wno-mismatched-new-delete)
endif()
if(INFERLINE_WERROR)
  list(APPEND INFERLINE_WARNINGS -Werror)
endif()

if(INFERLINE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# inferline_malloc: an interface library that executables link to get the chosen malloc.
add_library(inferline_malloc INTERFACE)
set(INFERLINE_MALLOC_NAME glibc)  # what `inferline version` reports (checked by cli_serve_smoke)
if(INFERLINE_MALLOC STREQUAL "jemalloc" AND NOT INFERLINE_SANITIZE AND NOT INFERLINE_FUZZ)
  find_library(INFERLINE_JEMALLOC_LIBRARY NAMES jemalloc)
  if(NOT INFERLINE_JEMALLOC_LIBRARY)
    message(FATAL_ERROR "INFERLINE_MALLOC=jemalloc needs libjemalloc-dev (scripts/setup.sh "
                        "installs it), or configure with -DINFERLINE_MALLOC=system")
  endif()
  target_link_libraries(inferline_malloc INTERFACE ${INFERLINE_JEMALLOC_LIBRARY})
  set(INFERLINE_MALLOC_NAME jemalloc)
elseif(NOT INFERLINE_MALLOC STREQUAL "jemalloc" AND NOT INFERLINE_MALLOC STREQUAL "system")
  message(FATAL_ERROR "INFERLINE_MALLOC must be jemalloc or system, not '${INFERLINE_MALLOC}'")
endif()

# inferline_library(<name> SOURCES ... DEPS ...)
# A static library named inferline_<name>; include paths are rooted at src/.
function(inferline_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(inferline_${name} STATIC ${ARG_SOURCES})
  target_include_directories(inferline_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(inferline_${name} PRIVATE ${INFERLINE_WARNINGS})
  target_link_libraries(inferline_${name} PUBLIC ${ARG_DEPS})
endfunction()

# inferline_test(<name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s] [WORKING_DIRECTORY d])
# A GoogleTest executable registered with ctest. Label "unit" tests also run under ASan+UBSan.
function(inferline_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT;WORKING_DIRECTORY" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(INFERLINE_UNIT_TESTS_ONLY AND NOT "unit" IN_LIST ARG_LABELS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${INFERLINE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_WORKING_DIRECTORY)
    set(ARG_WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  endif()
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${ARG_WORKING_DIRECTORY})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "INFERLINE_SOURCE_DIR=${PROJECT_SOURCE_DIR};INFERLINE_BINARY=$<TARGET_FILE_DIR:${name}>")
endfunction()
