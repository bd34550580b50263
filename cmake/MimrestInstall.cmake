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

# mimrest.pc for builds that do not use CMake: the core library, its
# dependencies for static linking in Requires.private. Relocatable (the
# prefix is found from the file's own place, ${pcfiledir}), so that
# `cmake --install --prefix` anywhere gives a working file.
set(MIMREST_PC_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${MIMREST_PC_DIR}")
  message(FATAL_ERROR "mimrest.pc needs a CMAKE_INSTALL_LIBDIR relative to the prefix")
endif()
file(RELATIVE_PATH MIMREST_PC_PREFIX_FROM_PCDIR "/prefix/${MIMREST_PC_DIR}" "/prefix")
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(MIMREST_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(MIMREST_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
set(MIMREST_PC_THREAD_LIBS "${CMAKE_THREAD_LIBS_INIT}")
set(MIMREST_PC_CFLAGS "")
get_target_property(_mimrest_core_type mimrest_core TYPE)
if(_mimrest_core_type STREQUAL "SHARED_LIBRARY")
  # As the CMake targets give it (include/mimrest/export.hpp).
  set(MIMREST_PC_CFLAGS " -DMIMREST_SHARED")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/mimrest.pc.in" "${PROJECT_BINARY_DIR}/mimrest.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/mimrest.pc" DESTINATION "${MIMREST_PC_DIR}"
        COMPONENT ${MIMREST_DEV_COMPONENT})
