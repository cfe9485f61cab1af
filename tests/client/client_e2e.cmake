# The client end to end against kvsp serve on loopback.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  add_test(NAME client_end_to_end
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/client/client_e2e_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES} ${KVSP_CAPTURES_DIR})
else()
  kvsp_missing_test(client_end_to_end "${KVSP_MHD_MISSING}")
endif()
