# Credentials: provider chain, shared files, ECS and IMDSv2 against a fake
# metadata server (Python, loopback only; started by credentials_fixture.c),
# refresh, region resolution.
# metadata_http.c and aws_config.c (with the transfer code they use) are
# compiled in as well: the test calls their internal functions, which the
# shared library does not export.
add_executable(test_credentials
  ${CMAKE_CURRENT_LIST_DIR}/test_credentials.c
  ${CMAKE_CURRENT_LIST_DIR}/credentials_fixture.c
  ${PROJECT_SOURCE_DIR}/src/client/metadata_http.c
  ${PROJECT_SOURCE_DIR}/src/client/aws_config.c
  ${PROJECT_SOURCE_DIR}/src/client/http_transfer.c
  ${PROJECT_SOURCE_DIR}/src/client/service_error.c
  ${PROJECT_SOURCE_DIR}/src/client/retry.c
  ${PROJECT_SOURCE_DIR}/src/client/client_settings.c)
target_include_directories(test_credentials PRIVATE ${PROJECT_SOURCE_DIR}/src/client)
target_link_libraries(test_credentials PRIVATE kvsp_test_util kvsparser::client PkgConfig::CLIENT_DEPS)
target_compile_options(test_credentials PRIVATE ${KVSP_WARNINGS})
add_test(NAME credentials
         COMMAND test_credentials ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/fake_metadata_server.py)
set_tests_properties(credentials PROPERTIES TIMEOUT 120)
