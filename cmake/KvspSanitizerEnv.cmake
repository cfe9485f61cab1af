# kvsp_python_sanitizer_env(VAR): in a sanitizer build (KVSP_SANITIZE), the
# environment a test needs to load the sanitized Python extension into
# Debian's (unsanitized) interpreter: the sanitizer runtimes preloaded, leak
# checking off (the interpreter's own allocations are not leaks of ours) and
# KVSP_SANITIZED=1 for tests that bound memory. Empty otherwise. Used by the
# python test and by the tests that run the package (scale_out_dask).
function(kvsp_python_sanitizer_env var)
  set(env)
  if(KVSP_SANITIZE)
    set(preload)
    foreach(rt asan ubsan)
      if((rt STREQUAL "asan" AND KVSP_SANITIZE MATCHES "address") OR
         (rt STREQUAL "ubsan" AND KVSP_SANITIZE MATCHES "undefined"))
        execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=lib${rt}.so
                        OUTPUT_VARIABLE lib OUTPUT_STRIP_TRAILING_WHITESPACE)
        list(APPEND preload ${lib})
      endif()
    endforeach()
    string(REPLACE ";" ":" preload "${preload}")
    set(env "LD_PRELOAD=${preload};ASAN_OPTIONS=detect_leaks=0:abort_on_error=1;KVSP_SANITIZED=1")
  endif()
  set(${var} "${env}" PARENT_SCOPE)
endfunction()
