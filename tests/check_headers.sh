#!/usr/bin/env bash
# Every public header compiles on its own as C99, C11 and C++11 with
# -Werror (a header that forgets an include, uses a C11-only construct or
# breaks under C++ fails here).
# Usage: check_headers.sh INCLUDE_DIR CC CXX
set -u
inc=$1 cc=$2 cxx=${3:-}
fail=0 n=0
for h in "$inc"/irllrec/*.h; do
  name=$(basename "$h")
  for std in c99 c11; do
    if ! printf '#include <irllrec/%s>\nint irllrec_header_check_dummy;\n' "$name" |
         "$cc" -std=$std -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc" -x c - ; then
      echo "FAIL: $name as $std"; fail=1
    fi
    n=$((n + 1))
  done
  if [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1; then
    if ! printf '#include <irllrec/%s>\nint irllrec_header_check_dummy;\n' "$name" |
         "$cxx" -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc" -x c++ - ; then
      echo "FAIL: $name as c++11"; fail=1
    fi
    n=$((n + 1))
  fi
done
[ $fail -eq 0 ] && echo "headers: $n compilations of $(ls "$inc"/irllrec/*.h | wc -l) headers alone, all clean"
exit $fail
