# Finds the dependencies of the mimrest targets. Shared by the build and by the
# installed package config (see mimrestConfig.cmake.in), so both agree.
include(CMakeFindDependencyMacro)

if(NOT COMMAND mimrest_find_dependency)
  macro(mimrest_find_dependency)
    if(MIMREST_FINDING_FOR_PACKAGE)
      find_dependency(${ARGN})
    else()
      find_package(${ARGN} REQUIRED)
    endif()
  endmacro()
endif()

mimrest_find_dependency(pugixml)
mimrest_find_dependency(OpenSSL)
mimrest_find_dependency(Threads)
mimrest_find_dependency(PkgConfig)

# GNU Libidn (XMPP stringprep profiles) ships only a pkg-config file.
if(NOT TARGET mimrest_libidn)
  pkg_check_modules(MIMREST_LIBIDN REQUIRED IMPORTED_TARGET GLOBAL libidn)
  add_library(mimrest_libidn INTERFACE IMPORTED GLOBAL)
  target_link_libraries(mimrest_libidn INTERFACE PkgConfig::MIMREST_LIBIDN)
endif()

if(NOT MIMREST_FINDING_FOR_PACKAGE)
  # Header-only and private to the core: consumers of the package never need it.
  find_package(RapidJSON REQUIRED)
  if(NOT TARGET mimrest_rapidjson)
    add_library(mimrest_rapidjson INTERFACE IMPORTED GLOBAL)
    target_include_directories(mimrest_rapidjson INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
    target_compile_definitions(mimrest_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
  endif()
endif()

if(MIMREST_WITH_CPPREST)
  mimrest_find_dependency(cpprestsdk)
endif()

# The SQL backend: SQLite (CMake's FindSQLite3) and libpq (pkg-config). The
# option is declared here because the dependencies are found before lib/.
if(NOT MIMREST_FINDING_FOR_PACKAGE)
  option(MIMREST_WITH_SQL "Build the SQL backend (mimrest::sql: SQLite and PostgreSQL)" ON)
endif()
if(MIMREST_WITH_SQL)
  mimrest_find_dependency(SQLite3)
  if(NOT TARGET mimrest_libpq)
    pkg_check_modules(MIMREST_LIBPQ REQUIRED IMPORTED_TARGET GLOBAL libpq)
    add_library(mimrest_libpq INTERFACE IMPORTED GLOBAL)
    target_link_libraries(mimrest_libpq INTERFACE PkgConfig::MIMREST_LIBPQ)
  endif()
endif()

# The Boost.Beast transport: Boost headers (Beast, Asio) and Boost.System.
if(NOT MIMREST_FINDING_FOR_PACKAGE)
  option(MIMREST_WITH_BEAST "Build the Boost.Beast HTTP(S) transport (mimrest::beast)" ON)
endif()
if(MIMREST_WITH_BEAST)
  mimrest_find_dependency(Boost 1.74 COMPONENTS system)
endif()

# The XMPP client core: Asio (Boost headers, Boost.System) and expat, the
# incremental XML parser of the server's stream.
if(NOT MIMREST_FINDING_FOR_PACKAGE)
  option(MIMREST_WITH_XMPP "Build the XMPP client core (mimrest::xmpp)" ON)
endif()
if(MIMREST_WITH_XMPP)
  mimrest_find_dependency(Boost 1.74 COMPONENTS system)
  mimrest_find_dependency(EXPAT)
endif()
