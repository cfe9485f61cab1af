# The resilient consumer (kvsp fragments --stream ...) against kvsp serve
# --live with fault injection; one test per part, each with its own servers.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  foreach(part CutOffsets CleanEnds Throttling ErrorTag ManyStreams Checkpoint LongNumbers)
    string(TOLOWER ${part} part_name)
    add_test(NAME consumer_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/consumer_test.py
                     $<TARGET_FILE:kvsp> ${RESOURCES} ${part})
    set_tests_properties(consumer_${part_name} PROPERTIES TIMEOUT 120)
  endforeach()
else()
  kvsp_missing_test(consumer "${KVSP_MHD_MISSING}")
endif()
