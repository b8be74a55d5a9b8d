# Shell-level tests: symbol hygiene and install + consumers. They inspect or
# relink the plain build, so they are skipped in sanitizer builds.
if(NOT IRLLREC_SANITIZE AND IRLLREC_BUILD_SHARED AND IRLLREC_BUILD_STATIC)
  add_test(NAME symbols
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_symbols.sh
            $<TARGET_FILE:irllrec_shared> $<TARGET_FILE:irllrec_static>)
  add_test(NAME install_consumers
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.sh
            ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/consumer ${CMAKE_C_COMPILER})
  set_tests_properties(install_consumers PROPERTIES TIMEOUT 300)
  # The Python package installed beside the library, used with PYTHONPATH only.
  add_test(NAME python_install
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python_install.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(python_install PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

add_test(NAME header_refs
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_header_refs.sh ${PROJECT_BINARY_DIR})

find_program(IRLLREC_CXX NAMES c++ g++ clang++)
add_test(NAME headers_alone
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_headers.sh ${PROJECT_SOURCE_DIR}/include
          ${CMAKE_C_COMPILER} ${IRLLREC_CXX})

# The C snippets of docs/hook.md and docs/serving.md, extracted from the markdown, as C11
# and C++17 -Werror.
add_test(NAME doc_hook_snippet
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_doc_snippet.sh ${PROJECT_SOURCE_DIR}
          ${CMAKE_C_COMPILER} ${IRLLREC_CXX})

# API reference with warnings as errors (scripts/doxygen.sh); only where doxygen is installed.
find_program(IRLLREC_DOXYGEN doxygen)
if(IRLLREC_DOXYGEN)
  add_test(NAME doxygen COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/doxygen.sh ${PROJECT_BINARY_DIR}/doc)
endif()

# ABI gate (scripts/abi-check.sh) on a RelWithDebInfo build of this tree, and the
# test that proves the gate fails on a removed function. Skipped (77) without abigail-tools.
if(NOT IRLLREC_SANITIZE)
  add_test(NAME abi COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/abi-check.sh
                            --build-dir ${PROJECT_BINARY_DIR}/abi-build)
  add_test(NAME abi_gate COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/abi/test_abi_gate.sh
                                 ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/abi-gate)
  set_tests_properties(abi abi_gate PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()

# The noise injector of the robustness harness (python3 standard library, own fixtures).
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  add_test(NAME noise_injector
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/robustness/test_inject_noise.py)
  set_tests_properties(noise_injector PROPERTIES TIMEOUT 300
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
# The library names no host model (lib/ and include/; hosts live in examples/).
add_test(NAME no_host_names
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_no_host_names.sh ${PROJECT_SOURCE_DIR})
