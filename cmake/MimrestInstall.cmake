# Install rules and the exported package: find_package(mimrest CONFIG) gives
# mimrest::core, mimrest::memory and (when built) mimrest::cpprest.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MIMREST_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/mimrest")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mimrest" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS ${MIMREST_EXPORTED_TARGETS}
        EXPORT mimrestTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT mimrestTargets NAMESPACE mimrest:: DESTINATION "${MIMREST_CMAKE_DIR}")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/mimrestConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/mimrestConfig.cmake"
                              INSTALL_DESTINATION "${MIMREST_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mimrestConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/mimrestConfig.cmake"
              "${PROJECT_BINARY_DIR}/mimrestConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/MimrestDependencies.cmake"
        DESTINATION "${MIMREST_CMAKE_DIR}")
