# kvsp --metrics (Prometheus text over HTTP) against kvsp serve --live:
# promtool, the Prometheus client's parser, a real prometheus server, and
# values against what the test knows without kvsp (issue 19).
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  foreach(part Scrape Prometheus Streams Address)
    string(TOLOWER ${part} part_name)
    add_test(NAME client_metrics_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/metrics_test.py
                     $<TARGET_FILE:kvsp> ${RESOURCES} ${part})
    set_tests_properties(client_metrics_${part_name} PROPERTIES TIMEOUT 120)
  endforeach()
else()
  kvsp_missing_test(client_metrics "${KVSP_MHD_MISSING}")
endif()
