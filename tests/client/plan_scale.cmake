# kvsp plan over a day of one stream (kvsp serve --repeat): the plan against
# botocore's ListFragments of the same server (issue 23).
if(TARGET kvsp AND MHD_FOUND AND KVSP_SERVE_SOURCES)
  add_test(NAME plan_scale
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/plan_scale_test.py
                   $<TARGET_FILE:kvsp> ${KVSP_CAPTURES_DIR})
  set_tests_properties(plan_scale PROPERTIES TIMEOUT 300)
else()
  kvsp_missing_test(plan_scale "${KVSP_MHD_MISSING}")
endif()
