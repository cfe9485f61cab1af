# SigV4 (src/client/sigv4*.c): the AWS SigV4 test suite, kvsp_sigv4_verify
# unit tests and a comparison with botocore's signer.
set(KVSP_SIGV4_SUITE "${PROJECT_SOURCE_DIR}/../shared/sigv4-test-suite/v4" CACHE PATH
    "AWS SigV4 test suite (one folder per case, each with request.txt); optional")

add_executable(test_sigv4 client/test_sigv4.c client/test_sigv4_verify.c
               client/sigv4_test_support.c)
target_link_libraries(test_sigv4 PRIVATE kvsp_test_util kvsparser::client PkgConfig::JANSSON)
target_compile_options(test_sigv4 PRIVATE ${KVSP_WARNINGS})

add_test(NAME sigv4_suite COMMAND test_sigv4 suite ${KVSP_SIGV4_SUITE})
add_test(NAME sigv4_verify COMMAND test_sigv4 verify)

add_executable(sigv4_tool client/sigv4_tool.c)
target_link_libraries(sigv4_tool PRIVATE kvsparser::client PkgConfig::JANSSON)
target_compile_options(sigv4_tool PRIVATE ${KVSP_WARNINGS})

# botocore from the Python CMake found and, when it is another interpreter,
# from the system one (Debian's python3-botocore); skipped without botocore.
add_test(NAME sigv4_botocore
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/client/sigv4_botocore_test.py
                 $<TARGET_FILE:sigv4_tool>)
if(EXISTS /usr/bin/python3)
  get_filename_component(KVSP_SIGV4_PY_A ${Python3_EXECUTABLE} REALPATH)
  get_filename_component(KVSP_SIGV4_PY_B /usr/bin/python3 REALPATH)
  if(NOT KVSP_SIGV4_PY_A STREQUAL KVSP_SIGV4_PY_B)
    add_test(NAME sigv4_botocore_system
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/client/sigv4_botocore_test.py
                     $<TARGET_FILE:sigv4_tool>)
  endif()
endif()
# The client's own requests (kvsp list-fragments, get-media, fragments, ...)
# as they arrive, checked by botocore behind a recording proxy: kvsp serve
# shares the canonicalisation code with the signer and cannot catch it.
# Debian's python3 has botocore (python3-botocore) when another one is first.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  if(EXISTS /usr/bin/python3)
    set(KVSP_SIGV4_CLIENT_PY /usr/bin/python3)
  else()
    set(KVSP_SIGV4_CLIENT_PY ${Python3_EXECUTABLE})
  endif()
  add_test(NAME sigv4_client_botocore
           COMMAND ${KVSP_SIGV4_CLIENT_PY} ${CMAKE_CURRENT_LIST_DIR}/sigv4_client_botocore_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES})
  set_tests_properties(sigv4_client_botocore PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
