# metadata_http.c (and aws_config.c, which it uses) are compiled in, as for
# test_credentials: kvsp_md_parse_time is internal, not exported.
add_executable(test_client_units client/test_client_units.c ${PROJECT_SOURCE_DIR}/src/client/metadata_http.c
               ${PROJECT_SOURCE_DIR}/src/client/aws_config.c ${PROJECT_SOURCE_DIR}/src/client/http_transfer.c
               ${PROJECT_SOURCE_DIR}/src/client/service_error.c ${PROJECT_SOURCE_DIR}/src/client/retry.c
               ${PROJECT_SOURCE_DIR}/src/client/client_settings.c)
target_include_directories(test_client_units PRIVATE ${PROJECT_SOURCE_DIR}/src/client)
target_link_libraries(test_client_units PRIVATE kvsp_test_util kvsparser::client PkgConfig::CLIENT_DEPS)
target_compile_options(test_client_units PRIVATE ${KVSP_WARNINGS})
add_test(NAME client_units COMMAND test_client_units)
