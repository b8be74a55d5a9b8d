#!/usr/bin/env bash
# Every file an installed header cites (docs/<page>.md, or another header)
# exists in the install: the headers are read where they were installed, not
# in the source tree.
#   check_header_refs.sh BUILD_DIR
set -u
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null || { echo "install failed"; exit 1; }
inc=$prefix/include/irllrec
doc=$(find "$prefix/share/doc" -type d -name docs | head -1)
[ -d "$inc" ] || { echo "no installed headers"; exit 1; }
[ -n "$doc" ] || { echo "no installed docs/ directory"; exit 1; }
bad=0 n=0
for h in "$inc"/*.h; do
  for ref in $(grep -o 'docs/[A-Za-z0-9_.-]*\.md' "$h" | sort -u); do
    n=$((n + 1))
    [ -f "$doc/${ref#docs/}" ] || { echo "$(basename "$h") cites $ref: not installed"; bad=1; }
  done
  for ref in $(grep -o '#include "[a-z_]*\.h"' "$h" | sed 's/#include "//; s/"//'); do
    n=$((n + 1))
    [ -f "$inc/$ref" ] || { echo "$(basename "$h") includes $ref: not installed"; bad=1; }
  done
  if grep -n 'DESIGN\.md\|STYLE\.md\|\.\./shared' "$h"; then
    echo "$(basename "$h") cites a file outside the project"; bad=1
  fi
done
[ $n -gt 0 ] || { echo "no references found: the check saw nothing"; exit 1; }
[ $bad -eq 0 ] && echo "header references: $n, all installed"
exit $bad
