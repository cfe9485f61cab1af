# kvsp serve's HLS (GetHLSStreamingSessionURL and its endpoints): botocore,
# ffmpeg and hls.js in headless Chromium as the clients; one test per part.
# hls.js is installed from the npm registry into the build tree once.
if(TARGET kvsp AND MHD_FOUND AND KVSP_SERVE_SOURCES AND TARGET kvsparser_mp4)
  foreach(part Botocore Ffmpeg Live Browser)
    string(TOLOWER ${part} part_name)
    add_test(NAME serve_hls_${part_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/serve_hls_test.py
                     $<TARGET_FILE:kvsp> ${RESOURCES} "${KVSP_CAPTURES_DIR}"
                     ${CMAKE_BINARY_DIR}/npm-cache ${part})
    set_tests_properties(serve_hls_${part_name} PROPERTIES TIMEOUT 600)
  endforeach()
else()
  foreach(part botocore ffmpeg live browser)
    kvsp_missing_test(serve_hls_${part} "${KVSP_MHD_MISSING} or the MP4 sink (libavformat)")
  endforeach()
endif()
