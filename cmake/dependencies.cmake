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
# oneDNN (Debian: libdnnl-dev) for the opt-in bf16 text towers. AUTO uses it
# when found; the library always works without it (fp32 text towers), and
# even with it the bf16 path is taken only on a CPU with AVX512-BF16 or AMX.
# Debian ships no dnnl.pc, so look for the header and the library directly.
set(IRLLREC_DNNL AUTO CACHE STRING "oneDNN for bf16 text towers: AUTO, ON (required) or OFF")
set_property(CACHE IRLLREC_DNNL PROPERTY STRINGS AUTO ON OFF)
set(IRLLREC_HAVE_DNNL OFF)
if(NOT IRLLREC_DNNL STREQUAL "OFF")
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
  find_library(DNNL_LIBRARY dnnl)
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    set(IRLLREC_HAVE_DNNL ON)
    add_library(irllrec_dnnl INTERFACE IMPORTED)
    target_link_libraries(irllrec_dnnl INTERFACE ${DNNL_LIBRARY})
    target_include_directories(irllrec_dnnl INTERFACE ${DNNL_INCLUDE_DIR})
    list(APPEND IRLLREC_PC_LIBS_PRIVATE -ldnnl)
    set(IRLLREC_PC_LIBS_DNNL "-ldnnl")  # irllrec-static.pc: Debian's oneDNN has no .pc
  elseif(IRLLREC_DNNL STREQUAL "ON")
    message(FATAL_ERROR "IRLLREC_DNNL=ON but oneDNN was not found (Debian: apt-get install libdnnl-dev)")
  endif()
endif()
message(STATUS "irllrec: bf16 text towers through oneDNN: ${IRLLREC_HAVE_DNNL}")
list(JOIN IRLLREC_PC_LIBS_PRIVATE " " IRLLREC_PC_LIBS_PRIVATE)

function(irllrec_link_dependencies tgt)
  target_link_libraries(${tgt} PRIVATE PkgConfig::SODIUM Threads::Threads m ${CMAKE_DL_LIBS})
  if(IRLLREC_BLAS)
    target_link_libraries(${tgt} PRIVATE ${IRLLREC_BLAS_TARGET})
    target_compile_definitions(${tgt} PRIVATE IRLLREC_USE_CBLAS)
  endif()
  if(IRLLREC_HAVE_DNNL)
    target_link_libraries(${tgt} PRIVATE irllrec_dnnl)
    target_compile_definitions(${tgt} PRIVATE IRLLREC_USE_DNNL)
  endif()
endfunction()
