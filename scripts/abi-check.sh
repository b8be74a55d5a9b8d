#!/usr/bin/env bash
# ABI gate (STYLE.md section 6, docs/api-stability.md): compares a
# RelWithDebInfo libirllrec.so with the committed baseline abi/libirllrec.abi
# (abidiff) and its exported symbols with abi/exported-symbols.txt (nm -D).
#
#   scripts/abi-check.sh [options]            check
#   scripts/abi-check.sh --update [options]   regenerate both baseline files
# Options:
#   --build-dir DIR  build (or incrementally rebuild) the library in DIR;
#                    default build-abi/ in the source tree. A DIR that is already
#                    configured keeps its settings (it must build with debug info).
#   --lib FILE       check this shared object instead of building one
#   --headers DIR    public headers of that library (default include/irllrec)
#   --src DIR        source tree to build (default: this script's tree)
# Exit status:
#   0   same ABI; or an incompatible change with a bumped SOVERSION (refresh the baseline)
#   4   compatible change only (e.g. an added function): refresh the baseline
#       with --update and commit it with the change
#   12  incompatible change (a removed function or variable, or a changed
#       signature, struct layout or enum) and the soname is the baseline's:
#       bump IRLLREC_SOVERSION or undo the change
#   1   abidiff saw no change but the exported symbols differ from the list
#   2   usage or tool error;  77  abidw/abidiff not installed
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here build="" lib="" headers="" update=0
while [ $# -gt 0 ]; do
  case $1 in
    --update) update=1 ;;
    --build-dir) build=$2; shift ;;
    --lib) lib=$2; shift ;;
    --headers) headers=$2; shift ;;
    --src) src=$(cd "$2" && pwd); shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "abi-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
baseline=$here/abi/libirllrec.abi
symlist=$here/abi/exported-symbols.txt
suppr=$here/abi/irllrec.suppr
headers=${headers:-$src/include/irllrec}

for t in abidw abidiff nm readelf; do
  command -v $t >/dev/null 2>&1 || { echo "abi-check.sh: $t not found (apt-get install abigail-tools binutils)"; exit 77; }
done

if [ -z "$lib" ]; then
  build=${build:-$src/build-abi}
  mkdir -p "$build"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    # Debug info is what lets abidw see types. Source paths must stay
    # absolute (no -fdebug-prefix-map): abidiff tells public types from
    # private ones by matching declaration files against --headers-dir.
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DIRLLREC_BUILD_SHARED=ON -DIRLLREC_BUILD_STATIC=OFF -DIRLLREC_BUILD_TESTS=OFF \
      -DIRLLREC_BUILD_EXAMPLES=OFF -DIRLLREC_BUILD_BENCH=OFF >"$build/abi-check.configure.log" 2>&1 \
      || { cat "$build/abi-check.configure.log"; echo "abi-check.sh: configure failed" >&2; exit 2; }
  fi
  cmake --build "$build" --target irllrec_shared -j2 >"$build/abi-check.build.log" 2>&1 \
    || { tail -40 "$build/abi-check.build.log"; echo "abi-check.sh: build failed" >&2; exit 2; }
  # The development symlink names the library just built; a build directory
  # that went through a version bump still holds the old libirllrec.so.X.Y.Z.
  lib=$(readlink -f "$build/libirllrec.so" 2>/dev/null || true)
fi
[ -f "$lib" ] || { echo "abi-check.sh: no shared library at '$lib'" >&2; exit 2; }
readelf -S "$lib" | grep -q '\.debug_info' \
  || { echo "abi-check.sh: $lib has no debug info: build it RelWithDebInfo" >&2; exit 2; }

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
# irllrec_x_* is the experimental tier: not part of the list (abi/irllrec.suppr).
exported() { nm -D --defined-only "$1" | awk '$2 ~ /[A-Z]/ {print $3}' | grep -v '^irllrec_x_' | LC_ALL=C sort -u; }

if [ $update -eq 1 ]; then
  mkdir -p "$(dirname "$baseline")"
  abidw --short-locs --no-corpus-path --no-comp-dir-path --drop-private-types \
        --exported-interfaces-only \
        --headers-dir "$headers" --suppressions "$suppr" --out-file "$baseline" "$lib" \
    || { echo "abi-check.sh: abidw failed" >&2; exit 2; }
  exported "$lib" > "$symlist"
  echo "abi-check.sh: baseline refreshed from $lib (soname $soname, $(wc -l < "$symlist") symbols):"
  echo "  ${baseline#$here/}  ${symlist#$here/}   (commit both)"
  exit 0
fi

[ -f "$baseline" ] && [ -f "$symlist" ] \
  || { echo "abi-check.sh: no baseline; create it with scripts/abi-check.sh --update" >&2; exit 2; }
base_soname=$(sed -n "1s/.* soname='\([^']*\)'.*/\1/p" "$baseline")

out=$(abidiff --drop-private-types --exported-interfaces-only --headers-dir2 "$headers" \
              --suppressions "$suppr" "$baseline" "$lib" 2>&1)
rc=$?
[ -n "$out" ] && printf '%s\n' "$out"
if [ $((rc & 3)) -ne 0 ]; then
  echo "abi-check.sh: abidiff failed (exit $rc)" >&2
  exit 2
fi

sym_diff=$(diff <(LC_ALL=C sort -u "$symlist") <(exported "$lib") | grep '^[<>]' \
           | sed -e 's/^</  removed:/' -e 's/^>/  added:  /')
# abidiff sets bit 8 only for changes it knows to be incompatible (removed
# symbols); a struct layout change gives 4, like an added function. So any
# removed or changed function or variable counts as incompatible here, and
# exit 4 with additions only as compatible.
removed_changed=$(printf '%s\n' "$out" | awk '/changes summary:/ {
    for (i = 1; i <= NF; i++) if ($i ~ /^(Removed|Changed)/) n += $(i - 1) } END {print n + 0}')
status=0
if [ $((rc & 8)) -ne 0 ] || [ "$removed_changed" -gt 0 ]; then
  if [ "$soname" != "$base_soname" ]; then
    echo "abi-check.sh: PASS (incompatible ABI change, abidiff exit $rc, but the soname moved" \
         "from $base_soname to $soname). Refresh the baseline: scripts/abi-check.sh --update"
    exit 0
  fi
  echo "abi-check.sh: FAIL: incompatible ABI change (abidiff exit $rc; $removed_changed removed or"
  echo "  changed interfaces) with the same soname $soname. Removing or changing a public"
  echo "  function, struct or enum needs a SOVERSION bump (docs/api-stability.md); otherwise"
  echo "  keep the old interface."
  status=12
elif [ $((rc & 4)) -ne 0 ]; then
  echo "abi-check.sh: FAIL: the ABI changed compatibly (abidiff exit 4: additions only)"
  echo "  but the baseline was not refreshed. Run scripts/abi-check.sh --update and commit"
  echo "  abi/libirllrec.abi and abi/exported-symbols.txt with the change."
  status=4
fi
if [ -n "$sym_diff" ]; then
  echo "abi-check.sh: exported symbols differ from abi/exported-symbols.txt:"
  printf '%s\n' "$sym_diff"
  if [ $status -eq 0 ]; then
    if [ "$soname" != "$base_soname" ]; then
      echo "abi-check.sh: PASS (soname moved from $base_soname to $soname). Refresh: scripts/abi-check.sh --update"
      exit 0
    fi
    status=1
  fi
fi
if [ $status -eq 0 ]; then
  echo "abi-check.sh: PASS: $(basename "$lib") (soname $soname) matches the baseline ($(wc -l < "$symlist") exported symbols)"
fi
exit $status
