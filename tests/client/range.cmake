# Time ranges (--from/--to) on files, stdin and kvsp serve streams (the
# range reader); one test per part so that ctest -j runs them side by side.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  foreach(part StreamEqualsFile ServerTimestamps Batches Fragments Throttled Memory Merge FileAndStdin Images)
    string(TOLOWER ${part} part_name)
    add_test(NAME range_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/range_test.py $<TARGET_FILE:kvsp> ${part})
    set_tests_properties(range_${part_name} PROPERTIES TIMEOUT 300)
  endforeach()
else()
  kvsp_missing_test(range "${KVSP_MHD_MISSING}")
endif()
