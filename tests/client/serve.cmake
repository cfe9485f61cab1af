# kvsp serve: the local KVS endpoint, driven by botocore-signed requests and
# botocore's own KVS clients. One test per part so that ctest -j runs them
# side by side; each starts its own servers on free ports.
if(TARGET kvsp AND MHD_FOUND AND KVSP_SERVE_SOURCES)
  foreach(part ServedStreams Authentication FaultInjection Live PublicUrl)
    string(TOLOWER ${part} part_name)
    add_test(NAME serve_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/serve_test.py
                     $<TARGET_FILE:kvsp> ${RESOURCES} ${KVSP_CAPTURES_DIR} ${part})
    set_tests_properties(serve_${part_name} PROPERTIES TIMEOUT 300)
  endforeach()
else()
  kvsp_missing_test(serve "${KVSP_MHD_MISSING}")
endif()
