# Failed and interrupted --stream runs end, and not with success: an
# unreachable data endpoint (connection refused, DNS failure) without
# --follow exits 3 within a bound naming the curl error and the host; SIGINT
# before any fragment is not success (issue 19).
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  add_test(NAME client_failures
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/failures_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES})
  set_tests_properties(client_failures PROPERTIES TIMEOUT 180)
else()
  kvsp_missing_test(client_failures "${KVSP_MHD_MISSING}")
endif()
