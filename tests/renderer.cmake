# kvsp-render (examples/renderer): screenshots read back from SDL's dummy and
# offscreen video drivers and compared with `kvsp frames`; live against
# `kvsp serve --live`.
if(TARGET kvsp-render)
  add_test(NAME renderer_offscreen
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/renderer_test.py
                   $<TARGET_FILE:kvsp-render> $<TARGET_FILE:kvsp> ${RESOURCES} ${KVSP_CAPTURES_DIR} Offscreen)
  set_tests_properties(renderer_offscreen PROPERTIES TIMEOUT 300)
  if(TARGET kvsparser_client AND MHD_FOUND AND KVSP_SERVE_SOURCES)
    add_test(NAME renderer_live
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/renderer_test.py
                     $<TARGET_FILE:kvsp-render> $<TARGET_FILE:kvsp> ${RESOURCES} ${KVSP_CAPTURES_DIR} Live)
    set_tests_properties(renderer_live PROPERTIES TIMEOUT 120)
  else()
    kvsp_missing_test(renderer_live "the KVS client or ${KVSP_MHD_MISSING}")
  endif()
else()
  foreach(t renderer_offscreen renderer_live)
    kvsp_missing_test(${t} "kvsp-render (needs the frame decoder and SDL2)")
  endforeach()
endif()
