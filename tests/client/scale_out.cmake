# kvsp plan / kvsp run (issue 23): scale_out_plan checks the manifest, the
# sharding and --status without a scheduler; slurm_array runs a plan as a
# Slurm job array on a single-node cluster (scripts/slurm-cluster.sh);
# scale_out_dask runs examples/scale-out/dask/plan_dask.py on a LocalCluster;
# scale_out_examples checks the shape of examples/scale-out/.
if(TARGET kvsp AND MHD_FOUND AND KVSP_SERVE_SOURCES)
  set(scale_out_parts Plan Slurm)
  if(KVSP_PYTHON)
    list(APPEND scale_out_parts Dask) # needs the Python package (python/)
  endif()
  foreach(part ${scale_out_parts})
    string(TOLOWER ${part} part_name)
    if(part STREQUAL "Slurm")
      set(test_name slurm_array)
    else()
      set(test_name scale_out_${part_name})
    endif()
    add_test(NAME ${test_name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/scale_out_test.py
                     $<TARGET_FILE:kvsp> ${PROJECT_SOURCE_DIR} ${KVSP_CAPTURES_DIR} ${part})
    set_tests_properties(${test_name} PROPERTIES TIMEOUT 180)
    if(part STREQUAL "Dask")
      include(${PROJECT_SOURCE_DIR}/cmake/KvspSanitizerEnv.cmake)
      kvsp_python_sanitizer_env(dask_env)
      if(dask_env)
        set_tests_properties(${test_name} PROPERTIES ENVIRONMENT "${dask_env}")
      endif()
    endif()
  endforeach()
else()
  kvsp_missing_test(slurm_array "${KVSP_MHD_MISSING}")
endif()
add_test(NAME scale_out_examples
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/scale_out_examples_test.py
                 ${PROJECT_SOURCE_DIR}/examples/scale-out)
