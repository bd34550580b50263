# ctest fixture step for the PostgreSQL tests: cmake -DPG_CLUSTER=... -DDIR=...
# -DACTION=start|stop -P pg_fixture.cmake. Without server binaries, start
# leaves DIR/unavailable so that the tests skip their PostgreSQL variants
# with a message (and the step passes); with them, a failure fails the step.
if(ACTION STREQUAL "start")
  execute_process(COMMAND bash "${PG_CLUSTER}" available RESULT_VARIABLE available)
  if(NOT available EQUAL 0)
    file(MAKE_DIRECTORY "${DIR}")
    file(WRITE "${DIR}/unavailable" "no PostgreSQL server binaries\n")
    message(WARNING "no PostgreSQL server binaries installed: PostgreSQL tests are skipped")
    return()
  endif()
  execute_process(COMMAND bash "${PG_CLUSTER}" start "${DIR}" RESULT_VARIABLE result
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "cannot start the PostgreSQL test cluster:\n${out}${err}")
  endif()
  message(STATUS "PostgreSQL test cluster: ${out}")
else()
  execute_process(COMMAND bash "${PG_CLUSTER}" stop "${DIR}")
endif()
