# Install rules and the exported package: find_package(mimrest CONFIG) gives
# mimrest::core and mimrest::memory, and each of mimrest::sql, mimrest::beast,
# mimrest::cpprest and mimrest::xmpp that was built (MIMREST_WITH_SQL,
# MIMREST_WITH_BEAST, MIMREST_WITH_CPPREST, MIMREST_WITH_XMPP;
# lib/CMakeLists.txt collects them in MIMREST_EXPORTED_TARGETS).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MIMREST_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/mimrest")
# Everything a consumer of the library needs is in this one component, so it
# can be installed on its own (`cmake --install <dir> --component
# mimrest_development`) without the example programs. A plain install still
# installs every component.
set(MIMREST_DEV_COMPONENT mimrest_development)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mimrest" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT ${MIMREST_DEV_COMPONENT})
install(TARGETS ${MIMREST_EXPORTED_TARGETS}
        EXPORT mimrestTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT ${MIMREST_DEV_COMPONENT}
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT ${MIMREST_DEV_COMPONENT}
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT ${MIMREST_DEV_COMPONENT}
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT mimrestTargets NAMESPACE mimrest:: DESTINATION "${MIMREST_CMAKE_DIR}"
        COMPONENT ${MIMREST_DEV_COMPONENT})

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/mimrestConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/mimrestConfig.cmake"
                              INSTALL_DESTINATION "${MIMREST_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mimrestConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/mimrestConfig.cmake"
              "${PROJECT_BINARY_DIR}/mimrestConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/MimrestDependencies.cmake"
        DESTINATION "${MIMREST_CMAKE_DIR}" COMPONENT ${MIMREST_DEV_COMPONENT})
