# Warning and sanitizer flags for the project's own targets.
function(mimrest_target_defaults target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                              -Wnon-virtual-dtor)
    if(MIMREST_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

if(MIMREST_SANITIZE)
  string(REPLACE ";" "," _mimrest_sanitizers "${MIMREST_SANITIZE}")
  add_compile_options(-fsanitize=${_mimrest_sanitizers} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_mimrest_sanitizers})
endif()
