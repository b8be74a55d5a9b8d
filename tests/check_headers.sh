#!/usr/bin/env bash
# Every public header compiles on its own as C99, C11 and C++11 with
# -Werror (a header that forgets an include, uses a C11-only construct or
# breaks under C++ fails here).
#
# The experimental tier (docs/api-stability.md) is reached only through
# irllrec/experimental.h with IRLLREC_EXPERIMENTAL_API defined, so for it
# "alone" means:
#   - experimental.h alone, with the define, compiles;
#   - experimental.h without the define does NOT compile (#error);
#   - each header experimental.h includes (rng.h, data.h, ...) does NOT
#     compile when included directly;
#   - each of those headers is still self-contained: it compiles first in a
#     translation unit where experimental.h's guard is already set, which is
#     what experimental.h does when it includes it (so the include order in
#     experimental.h never hides a missing include);
#   - the umbrella irllrec.h with the define compiles and declares the tier.
# Usage: check_headers.sh INCLUDE_DIR CC CXX
set -u
inc=$1 cc=$2 cxx=${3:-}
fail=0 n=0

# The experimental headers are the ones experimental.h includes.
exp_hdr=$inc/irllrec/experimental.h
[ -f "$exp_hdr" ] || { echo "FAIL: $exp_hdr missing"; exit 1; }
tier=$(sed -n 's/^#include "\([a-z0-9_]*\.h\)"$/\1/p' "$exp_hdr")
[ -n "$tier" ] || { echo "FAIL: experimental.h includes no header"; exit 1; }
in_tier() { printf '%s\n' $tier | grep -qx "$1"; }

# compile WANT LABEL PROLOGUE: compile PROLOGUE (C99, C11, C++11); WANT is ok
# (must compile) or fail (must not).
compile() {
  local want=$1 label=$2 src=$3 lang tool std rc
  for std in c99 c11 c++11; do
    if [ "$std" = c++11 ]; then
      [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1 || continue
      lang=c++; tool=$cxx
    else
      lang=c; tool=$cc
    fi
    printf '%s\nint irllrec_header_check_dummy;\n' "$src" |
      "$tool" -std=$std -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc" -x $lang - \
      >/dev/null 2>"${TMPDIR:-/tmp}/irllrec_hdr.$$"
    rc=$?
    if [ $want = ok ] && [ $rc -ne 0 ]; then
      cat "${TMPDIR:-/tmp}/irllrec_hdr.$$"; echo "FAIL: $label as $std"; fail=1
    elif [ $want = fail ] && [ $rc -eq 0 ]; then
      echo "FAIL: $label as $std compiled but must not"; fail=1
    fi
    n=$((n + 1))
  done
  rm -f "${TMPDIR:-/tmp}/irllrec_hdr.$$"
}

nh=0
for h in "$inc"/irllrec/*.h; do
  name=$(basename "$h")
  nh=$((nh + 1))
  if [ "$name" = experimental.h ]; then
    compile ok "experimental.h with IRLLREC_EXPERIMENTAL_API" \
      "#define IRLLREC_EXPERIMENTAL_API
#include <irllrec/experimental.h>"
    compile fail "experimental.h without IRLLREC_EXPERIMENTAL_API" \
      "#include <irllrec/experimental.h>"
  elif in_tier "$name"; then
    compile fail "$name included directly" "#include <irllrec/$name>"
    compile ok "$name first, as experimental.h includes it" \
      "#define IRLLREC_EXPERIMENTAL_API
#define IRLLREC_EXPERIMENTAL_H
#include <irllrec/$name>"
  else
    compile ok "$name" "#include <irllrec/$name>"
  fi
done
# The umbrella with the define declares the tier (irllrec_x_rng_create is
# one of its functions; any tier function would do).
compile ok "irllrec.h with IRLLREC_EXPERIMENTAL_API" \
  "#define IRLLREC_EXPERIMENTAL_API
#include <irllrec/irllrec.h>
irllrec_status (*irllrec_header_check_ptr)(irllrec_ctx *, uint64_t, irllrec_x_rng **) =
    irllrec_x_rng_create;"

# Doxygen comments: every public header under clang's -Wdocumentation
# (an @param naming no parameter, an empty @return, ...), as C11. A planted
# bad comment must fail, so a clang that ignores the flag cannot pass.
ndoc=0
if command -v clang >/dev/null 2>&1; then
  doc() {
    printf '%s\nint irllrec_header_check_dummy;\n' "$2" |
      clang -std=c11 -Wdocumentation -Werror -fsyntax-only -I"$inc" -x c - \
      >/dev/null 2>"${TMPDIR:-/tmp}/irllrec_doc.$$"
  }
  for h in "$inc"/irllrec/*.h; do
    name=$(basename "$h")
    if ! doc "$name" "#define IRLLREC_EXPERIMENTAL_API
#define IRLLREC_EXPERIMENTAL_H
#include <irllrec/$name>"; then
      cat "${TMPDIR:-/tmp}/irllrec_doc.$$"; echo "FAIL: $name under clang -Wdocumentation"; fail=1
    fi
    ndoc=$((ndoc + 1))
  done
  if doc canary "/** @param nope not a parameter */ void irllrec_doc_canary(int a);"; then
    echo "FAIL: clang -Wdocumentation did not flag a wrong @param"; fail=1
  fi
  rm -f "${TMPDIR:-/tmp}/irllrec_doc.$$"
else
  echo "note: clang not found, -Wdocumentation not checked"
fi

[ $fail -eq 0 ] && echo "headers: $ndoc under clang -Wdocumentation; $n compilations of $nh headers, all as expected" \
  "(experimental tier: experimental.h + $(printf '%s\n' $tier | wc -l) headers, reached only with IRLLREC_EXPERIMENTAL_API)"
exit $fail
