include(CMakePackageConfigHelpers)

# Two export sets, so find_package(irllrec) can load the shared target without
# the static one's dependencies (libsodium, BLAS: their development files are
# needed only to link the archive). irllrecConfig.cmake includes each file
# that exists.
if(TARGET irllrec_shared)
  install(TARGETS irllrec_shared EXPORT irllrecSharedTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT irllrecSharedTargets NAMESPACE irllrec:: FILE irllrecSharedTargets.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)
endif()
if(TARGET irllrec_static)
  install(TARGETS irllrec_static EXPORT irllrecStaticTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT irllrecStaticTargets NAMESPACE irllrec:: FILE irllrecStaticTargets.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)
endif()
install(FILES ${IRLLREC_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/irllrec)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/irllrecConfig.cmake.in
  ${PROJECT_BINARY_DIR}/irllrecConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)
# While 0.x every minor may break the ABI (soname 0.<minor>): find_package(irllrec
# 0.2) accepts 0.2.x only. From 1.0 a minor only adds: the same major will do.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(IRLLREC_VERSION_COMPAT SameMinorVersion)
else()
  set(IRLLREC_VERSION_COMPAT SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/irllrecConfigVersion.cmake
  COMPATIBILITY ${IRLLREC_VERSION_COMPAT})
install(FILES ${PROJECT_BINARY_DIR}/irllrecConfig.cmake ${PROJECT_BINARY_DIR}/irllrecConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)

# Relocatable .pc files: prefix is found relative to the .pc file itself, so
# `cmake --install --prefix X` and DESTDIR staging both give a working file.
# irllrec.pc: the shared library (needs no other .pc file; Libs.private for
# an archive-only install). irllrec-static.pc: libirllrec.a by path, which
# `pkg-config --static irllrec` cannot give where both are installed (-lirllrec
# picks the .so).
file(RELATIVE_PATH IRLLREC_PC_PREFIX_REL "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
configure_file(${PROJECT_SOURCE_DIR}/pkgconfig/irllrec.pc.in ${PROJECT_BINARY_DIR}/irllrec.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/irllrec.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(TARGET irllrec_static)
  configure_file(${PROJECT_SOURCE_DIR}/pkgconfig/irllrec-static.pc.in
    ${PROJECT_BINARY_DIR}/irllrec-static.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/irllrec-static.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

# The pages the installed headers cite ("see docs/hook.md") are installed with
# them, so no installed header refers to a file the install lacks
# (tests/check_header_refs.sh).
file(GLOB IRLLREC_DOC_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${IRLLREC_DOC_PAGES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The header-only C++17 wrapper (not C: outside the *.h glob, Doxygen and the
# C header checks); tests/cxx builds it in the tree, tests/consumer from the install.
install(FILES ${PROJECT_SOURCE_DIR}/include/irllrec/irllrec.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/irllrec)
include(${CMAKE_CURRENT_LIST_DIR}/python.cmake)
