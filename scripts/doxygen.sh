#!/usr/bin/env bash
# Build the API reference from include/irllrec/ with warnings as errors.
#   scripts/doxygen.sh [OUTDIR]      (default: build-doc/; HTML in OUTDIR/html)
# Exit status: 0 clean; 1 any Doxygen warning (undocumented symbol, parameter
# or return value, bad reference); 2 doxygen missing. The warnings are printed.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-doc}

# Headers not checked yet because they are still being written. Remove a name
# here once its header is complete; the goal is an empty list.
EXCLUDE_HEADERS=""

command -v doxygen >/dev/null 2>&1 || { echo "doxygen.sh: doxygen not found (apt-get install doxygen)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

excl=""
for h in $EXCLUDE_HEADERS; do excl="$excl $src/include/irllrec/$h"; done
version=$(awk '/^#define IRLLREC_VERSION_(MAJOR|MINOR|PATCH) / {v = v (v == "" ? "" : ".") $3} END {print v}' \
          "$src/include/irllrec/version.h")

sed -e "s|@VERSION@|$version|" -e "s|@OUTPUT@|$out|" -e "s|@SRCDIR@|$src|" \
    -e "s|@INPUT@|$src/include/irllrec|" -e "s|@EXCLUDE@|$excl|" \
    "$src/docs/Doxyfile.in" > "$out/Doxyfile"

# Doxygen silently skips the functions, macros and enums of a header that has
# no @file block, so such a header would pass unchecked: refuse it instead.
nofile=""
for h in "$src"/include/irllrec/*.h; do
  case " $EXCLUDE_HEADERS " in *" $(basename "$h") "*) continue ;; esac
  grep -q '@file' "$h" || nofile="$nofile $(basename "$h")"
done
if [ -n "$nofile" ]; then
  echo "doxygen.sh: no /** @file */ block (its globals would go unchecked):$nofile" >&2
  exit 1
fi

log="$out/doxygen-warnings.log"
if doxygen "$out/Doxyfile" > "$log" 2>&1 && ! grep -q . "$log"; then
  n=$(ls "$src"/include/irllrec/*.h | wc -l)
  echo "doxygen: clean over include/irllrec ($n headers, excluded:${EXCLUDE_HEADERS:+ $EXCLUDE_HEADERS}); HTML in $out/html"
  exit 0
fi
cat "$log"; echo
echo "doxygen: $(grep -cE '(warning|error):' "$log" || true) problem(s); see above" >&2
exit 1
