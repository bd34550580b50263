# ctest fixture step for the XMPP tests:
#   cmake -DSCRIPT=.../xmpp_server -DKIND=prosody|ejabberd -DDIR=...
#         [-DUSERS=N] -DACTION=start|stop -P xmpp_fixture.cmake
# Without that server installed, start leaves DIR/unavailable so that the
# tests skip with a message (and the step passes), unless the environment
# has MIMREST_REQUIRE_XMPP=1 (CI): then a missing server fails the step.
if(ACTION STREQUAL "start")
  execute_process(COMMAND bash "${SCRIPT}" available "${KIND}" RESULT_VARIABLE available)
  if(NOT available EQUAL 0)
    if("$ENV{MIMREST_REQUIRE_XMPP}" STREQUAL "1")
      message(FATAL_ERROR "${KIND} is not installed and MIMREST_REQUIRE_XMPP=1 requires it "
                          "(cmake/install-deps.sh installs it)")
    endif()
    file(REMOVE_RECURSE "${DIR}")
    file(MAKE_DIRECTORY "${DIR}")
    file(WRITE "${DIR}/unavailable" "no ${KIND} installed\n")
    message(WARNING "${KIND} is not installed: its XMPP tests are skipped")
    return()
  endif()
  if(NOT USERS)
    set(USERS 0)
  endif()
  execute_process(COMMAND bash "${SCRIPT}" start "${KIND}" "${DIR}" --users "${USERS}"
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "cannot start the ${KIND} test server:\n${out}${err}")
  endif()
  message(STATUS "${KIND} test server: port ${out}${err}")
else()
  execute_process(COMMAND bash "${SCRIPT}" stop "${DIR}")
endif()
