# The skip convention (README, Tests). A test that cannot run for want of
# data or a tool exits 77, which ctest counts as skipped; with CI=true the
# helpers that say so (tests/kvsp_testing.py, kvsp_test_skip in
# tests/test_util.c) exit 1 instead, unless the test is named in
# tests/allowed_skips.txt.
include_guard(GLOBAL)

set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/tests/allowed_skips.txt)

# Registers NAME in place of a test whose library or tool (WHAT) is missing:
# the test says so and skips, so that it fails in CI instead of vanishing.
# Needs Python3_EXECUTABLE (find_package(Python3) in the caller).
function(kvsp_missing_test name what)
  add_test(NAME ${name}
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/kvsp_testing.py missing "${what}")
endfunction()

# Gives every test of the calling directory SKIP_RETURN_CODE 77, and
# KVSP_SKIP_ALLOWED=1 to those named in tests/allowed_skips.txt. Called once
# at the end of each CMakeLists.txt that adds tests.
function(kvsp_apply_skip_convention)
  file(STRINGS ${PROJECT_SOURCE_DIR}/tests/allowed_skips.txt lines REGEX "^[^# \t]")
  set(allowed "")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "^[^ \t]+" name "${line}")
    list(APPEND allowed ${name})
  endforeach()
  get_directory_property(tests TESTS)
  foreach(t IN LISTS tests)
    set_property(TEST ${t} PROPERTY SKIP_RETURN_CODE 77)
    if(t IN_LIST allowed)
      set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT KVSP_SKIP_ALLOWED=1)
    endif()
  endforeach()
endfunction()
