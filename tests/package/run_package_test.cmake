# Installs a mimrest build tree into a scratch prefix, then configures, builds
# and runs the consumer project against it; then compiles the consumer's
# main.cpp by hand with the flags `pkg-config --cflags --libs mimrest` gives
# for that prefix, and runs it. Run with cmake -P; see CMakeLists.txt for the
# variables it expects.
foreach(var MIMREST_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR PKG_CONFIG LIBDIR CORE_TYPE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/consumer-build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# run_step(name [OUTPUT var] command...): runs the command, stops on failure;
# OUTPUT keeps its standard output (without the trailing newline).
function(run_step name)
  set(command ${ARGN})
  set(output_var "")
  if(ARGV1 STREQUAL "OUTPUT")
    set(output_var ${ARGV2})
    list(REMOVE_AT command 0 1)
  endif()
  execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE out
                  ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${name} failed (${result}):\n${out}\n${err}")
  endif()
  message(STATUS "${name}: ok")
  if(output_var)
    set(${output_var} "${out}" PARENT_SCOPE)
  endif()
endfunction()

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

run_step("install" "${CMAKE_COMMAND}" --install "${MIMREST_BINARY_DIR}" --prefix "${prefix}"
         --component mimrest_development ${config_args})

set(configure_args -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}"
                   "-DCMAKE_PREFIX_PATH=${prefix}")
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CONFIG)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
# Libraries built with sanitizers need the runtime in the consumer too.
if(SANITIZE)
  set(flags "-fsanitize=${SANITIZE} -fno-omit-frame-pointer")
  list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}")
endif()
run_step("configure consumer" "${CMAKE_COMMAND}" ${configure_args})
run_step("build consumer" "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

find_program(consumer_exe consumer PATHS "${consumer_build}" "${consumer_build}/${CONFIG}"
             NO_DEFAULT_PATH REQUIRED)
run_step("run consumer" "${consumer_exe}")

# The same program built without CMake: the flags of the installed mimrest.pc,
# found through PKG_CONFIG_PATH; a static core also needs the libraries of
# its Requires.private (--static).
set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
set(static_arg "")
if(CORE_TYPE STREQUAL "STATIC_LIBRARY")
  set(static_arg --static)
endif()
run_step("pkg-config --cflags --libs mimrest" OUTPUT pc_flags
         "${PKG_CONFIG}" --cflags --libs ${static_arg} mimrest)
message(STATUS "  ${pc_flags}")
run_step("pkg-config --variable=libdir mimrest" OUTPUT pc_libdir
         "${PKG_CONFIG}" --variable=libdir mimrest)
get_filename_component(pc_libdir "${pc_libdir}" REALPATH)
get_filename_component(expected_libdir "${prefix}/${LIBDIR}" REALPATH)
if(NOT pc_libdir STREQUAL expected_libdir)
  message(FATAL_ERROR "mimrest.pc names ${pc_libdir} as libdir, not ${expected_libdir}")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
set(sanitize_flags "")
if(SANITIZE)
  set(sanitize_flags "-fsanitize=${SANITIZE}" -fno-omit-frame-pointer)
endif()
if(NOT CXX_COMPILER)
  set(CXX_COMPILER c++)
endif()
set(pc_consumer "${WORK_DIR}/consumer-pkg-config")
run_step("build consumer with pkg-config" "${CXX_COMPILER}" -std=c++17 ${sanitize_flags}
         "${CONSUMER_SOURCE_DIR}/main.cpp" ${pc_flags} -o "${pc_consumer}")
set(ENV{LD_LIBRARY_PATH} "${pc_libdir}")
run_step("run consumer built with pkg-config" "${pc_consumer}")
