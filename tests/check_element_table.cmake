# Regenerates the element table and fails if the committed one differs.
execute_process(
  COMMAND ${PYTHON} ${GENERATOR} ${SCHEMA_DIR}/ebml.xml ${SCHEMA_DIR}/ebml_matroska.xml ${OUT}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gen_element_table.py failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${COMMITTED} ${OUT} RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "src/ebml/element_table.c is stale: run tools/gen_element_table.py")
endif()
