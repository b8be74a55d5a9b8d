# Warnings for the library's own code, sanitizers for CI. Consumers never get -Werror.
set(IRLLREC_WARNINGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-align
  -Wpointer-arith -Wvla -Wdouble-promotion -Wfloat-conversion -Wformat=2)

function(irllrec_apply_warnings tgt)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    # -fno-math-errno lets GCC vectorise loops calling sqrtf/expf (the library
    # never reads errno after math calls). It keeps IEEE semantics, unlike
    # -ffast-math, which would break the isfinite checks behind E_NUMERIC.
    target_compile_options(${tgt} PRIVATE ${IRLLREC_WARNINGS} -fno-math-errno)
    if(IRLLREC_WERROR)
      target_compile_options(${tgt} PRIVATE -Werror)
    endif()
  endif()
endfunction()

if(IRLLREC_SANITIZE)
  string(REPLACE ";" "," _san "${IRLLREC_SANITIZE}")
  add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_san})
endif()
