add_executable(test_client_units client/test_client_units.c)
target_link_libraries(test_client_units PRIVATE kvsp_test_util kvsparser::client)
target_compile_options(test_client_units PRIVATE ${KVSP_WARNINGS})
add_test(NAME client_units COMMAND test_client_units)
