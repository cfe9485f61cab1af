# The client against kvsp serve's response faults (stall, chunked encoding,
# garbage, spoiled ListFragments answers, expired token); one test per part.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  foreach(part Stall Chunked Garbage ListJson ExpiredToken)
    string(TOLOWER ${part} part_name)
    add_test(NAME faults_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/faults_test.py
                     $<TARGET_FILE:kvsp> ${RESOURCES} ${part})
    set_tests_properties(faults_${part_name} PROPERTIES TIMEOUT 120)
  endforeach()
else()
  kvsp_missing_test(faults "${KVSP_MHD_MISSING}")
endif()
