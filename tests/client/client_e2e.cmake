# The client end to end against kvsp serve on loopback.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  add_test(NAME client_end_to_end
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/client/client_e2e_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES} ${KVSP_CAPTURES_DIR})
  # The errors the client and the consumer keep (kvsp_client_error, ...),
  # through the C API against kvsp serve.
  add_executable(test_client_errors ${CMAKE_CURRENT_LIST_DIR}/test_client_errors.c)
  target_link_libraries(test_client_errors PRIVATE kvsp_test_util kvsparser::client)
  target_compile_options(test_client_errors PRIVATE ${KVSP_WARNINGS})
  add_test(NAME client_errors COMMAND test_client_errors $<TARGET_FILE:kvsp> ${RESOURCES})
  set_tests_properties(client_errors PROPERTIES TIMEOUT 60)
else()
  kvsp_missing_test(client_end_to_end "${KVSP_MHD_MISSING}")
  kvsp_missing_test(client_errors "${KVSP_MHD_MISSING}")
endif()
