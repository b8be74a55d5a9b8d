# Read IRLLREC_VERSION_{MAJOR,MINOR,PATCH} from the public header, the single
# source of truth for the version.
function(irllrec_read_version header outvar)
  file(STRINGS ${header} lines REGEX "^#define IRLLREC_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
  foreach(part MAJOR MINOR PATCH)
    string(REGEX MATCH "IRLLREC_VERSION_${part} +([0-9]+)" _ "${lines}")
    set(v_${part} "${CMAKE_MATCH_1}")
    if(v_${part} STREQUAL "")
      message(FATAL_ERROR "cannot read IRLLREC_VERSION_${part} from ${header}")
    endif()
  endforeach()
  # Re-run CMake when the header changes: a build directory configured before
  # a version bump must not keep the old soname (the abi test's build-abi/ is
  # configured once and then only rebuilt).
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${header})
  set(${outvar} "${v_MAJOR}.${v_MINOR}.${v_PATCH}" PARENT_SCOPE)
endfunction()
