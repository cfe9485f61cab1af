# Continuation tokens and NextToken paging against a fake KVS written in the
# test from the AWS API reference (kvsp serve shares the client's reading).
if(KVSP_CLI_CLIENT_SOURCES)
  add_test(NAME client_resume
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/resume_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES})
  set_tests_properties(client_resume PROPERTIES TIMEOUT 120)
else()
  kvsp_missing_test(client_resume "the sources of the CLI's client (tools/kvsp)")
endif()
