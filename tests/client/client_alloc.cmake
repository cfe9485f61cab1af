# Allocation failure in the client's own code: the fragment splitter over a
# GetMedia capture and ListFragments parsing, each allocation failed in
# turn. The two files are compiled in: their functions are internal.
add_executable(test_client_alloc
  ${CMAKE_CURRENT_LIST_DIR}/test_client_alloc.c
  ${PROJECT_SOURCE_DIR}/src/client/fragment_splitter.c
  ${PROJECT_SOURCE_DIR}/src/client/fragment_list.c)
target_include_directories(test_client_alloc PRIVATE ${PROJECT_SOURCE_DIR}/src/client ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_client_alloc PRIVATE kvsp_test_util kvsparser::client PkgConfig::CLIENT_DEPS m)
target_compile_options(test_client_alloc PRIVATE ${KVSP_WARNINGS})
add_test(NAME client_alloc COMMAND test_client_alloc ${KVSP_CAPTURES_DIR})
set_tests_properties(client_alloc PROPERTIES TIMEOUT 120)

# The same for the client's set-up paths, through the public API only:
# kvsp_client_create, the credential chain (environment, shared files) and
# SigV4 signing and verification.
add_executable(test_client_setup_alloc ${CMAKE_CURRENT_LIST_DIR}/test_client_setup_alloc.c)
target_link_libraries(test_client_setup_alloc PRIVATE kvsp_test_util kvsparser::client)
target_compile_options(test_client_setup_alloc PRIVATE ${KVSP_WARNINGS})
add_test(NAME client_setup_alloc COMMAND test_client_setup_alloc)
set_tests_properties(client_setup_alloc PROPERTIES TIMEOUT 120)
