include(CMakePackageConfigHelpers)

install(TARGETS ${IRLLREC_TARGETS} EXPORT irllrecTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${IRLLREC_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/irllrec)
install(EXPORT irllrecTargets NAMESPACE irllrec:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/irllrecConfig.cmake.in
  ${PROJECT_BINARY_DIR}/irllrecConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/irllrecConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/irllrecConfig.cmake ${PROJECT_BINARY_DIR}/irllrecConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/irllrec)

# A relocatable .pc: prefix is found relative to the .pc file itself, so
# `cmake --install --prefix X` and DESTDIR staging both give a working file.
file(RELATIVE_PATH IRLLREC_PC_PREFIX_REL "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
configure_file(${PROJECT_SOURCE_DIR}/pkgconfig/irllrec.pc.in ${PROJECT_BINARY_DIR}/irllrec.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/irllrec.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The pages the installed headers cite ("see docs/hook.md") are installed with
# them, so no installed header refers to a file the install lacks
# (tests/check_header_refs.sh).
file(GLOB IRLLREC_DOC_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${IRLLREC_DOC_PAGES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
