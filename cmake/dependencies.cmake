# Dependencies, found the Debian way: pkg-config first.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

# What a static link needs, for the .pc files (cmake/install.cmake):
# irllrec.pc names them in Libs.private only (flags, no Requires.private), so
# `pkg-config irllrec` for the shared library works without libsodium's or
# BLAS's .pc files; irllrec-static.pc requires their .pc files.
set(IRLLREC_PC_REQUIRES_STATIC "libsodium")
set(IRLLREC_PC_LIBS_PRIVATE ${SODIUM_LDFLAGS})
if(IRLLREC_BLAS)
  pkg_check_modules(BLAS_PC IMPORTED_TARGET blas)
  if(BLAS_PC_FOUND)
    set(IRLLREC_BLAS_TARGET PkgConfig::BLAS_PC)
    set(IRLLREC_PC_REQUIRES_STATIC "${IRLLREC_PC_REQUIRES_STATIC} blas")
    list(APPEND IRLLREC_PC_LIBS_PRIVATE ${BLAS_PC_LDFLAGS})
  else()
    # FindBLAS gives no include dir for cblas.h; look for it ourselves.
    find_package(BLAS REQUIRED)
    find_path(CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas x86_64-linux-gnu REQUIRED)
    add_library(irllrec_blas INTERFACE IMPORTED)
    target_link_libraries(irllrec_blas INTERFACE ${BLAS_LIBRARIES})
    target_include_directories(irllrec_blas INTERFACE ${CBLAS_INCLUDE_DIR})
    set(IRLLREC_BLAS_TARGET irllrec_blas)
    set(IRLLREC_PC_LIBS_PRIVATE_BLAS "-lblas")
    list(APPEND IRLLREC_PC_LIBS_PRIVATE -lblas)
  endif()
endif()
list(JOIN IRLLREC_PC_LIBS_PRIVATE " " IRLLREC_PC_LIBS_PRIVATE)

function(irllrec_link_dependencies tgt)
  target_link_libraries(${tgt} PRIVATE PkgConfig::SODIUM Threads::Threads m ${CMAKE_DL_LIBS})
  if(IRLLREC_BLAS)
    target_link_libraries(${tgt} PRIVATE ${IRLLREC_BLAS_TARGET})
    target_compile_definitions(${tgt} PRIVATE IRLLREC_USE_CBLAS)
  endif()
endfunction()
