# kvsp serve stopping while GetMedia responses are under way: they end
# cleanly (botocore, urllib); one test per part.
if(TARGET kvsp AND MHD_FOUND AND KVSP_SERVE_SOURCES)
  foreach(part Waiting MidFragment FragmentList)
    string(TOLOWER ${part} part_name)
    add_test(NAME serve_stop_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/serve_stop_test.py
                     $<TARGET_FILE:kvsp> ${RESOURCES} ${part})
    set_tests_properties(serve_stop_${part_name} PROPERTIES TIMEOUT 120)
  endforeach()
else()
  kvsp_missing_test(serve_stop "${KVSP_MHD_MISSING}")
endif()
