# kvsp serve --rate-per-connection: paced responses carry the same bytes
# (botocore) and keep to the pace (a lower bound only).
if(TARGET kvsp AND MHD_FOUND AND KVSP_SERVE_SOURCES)
  add_test(NAME serve_pace
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/serve_pace_test.py
                   $<TARGET_FILE:kvsp> ${KVSP_CAPTURES_DIR})
  set_tests_properties(serve_pace PROPERTIES TIMEOUT 180)
else()
  kvsp_missing_test(serve_pace "${KVSP_MHD_MISSING}")
endif()
