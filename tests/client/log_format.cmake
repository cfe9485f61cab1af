# kvsp --log-format json: every stderr line of failing runs parses as JSON
# with time, level, message and its fields; --metrics' error kinds against
# failing services written in the test (issue 19).
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  add_test(NAME client_log_format
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/log_format_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES})
  set_tests_properties(client_log_format PROPERTIES TIMEOUT 180)
else()
  kvsp_missing_test(client_log_format "${KVSP_MHD_MISSING}")
endif()
