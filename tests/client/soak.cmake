# The soak test: 50 live streams in one consumer through kvsp serve with
# session ends, cuts and throttling; about 2 minutes (longer by hand with
# --duration, see README, Tests).
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  add_test(NAME soak COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/soak_test.py $<TARGET_FILE:kvsp>)
  set_tests_properties(soak PROPERTIES TIMEOUT 600)
else()
  kvsp_missing_test(soak "${KVSP_MHD_MISSING}")
endif()
