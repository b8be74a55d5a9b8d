#!/usr/bin/env bash
# Proves that the ABI gate (scripts/abi-check.sh) fails when it must and passes
# when it may, against the COMMITTED baseline (abi/). It copies the library's
# sources to a temporary tree, builds it once, then edits it step by step
# (each rebuild is incremental) and checks the gate's exit status and output:
#   pristine copy                                   -> 0
#   + exported irllrec_x_* (experimental tier)      -> 0 (suppressed, not listed)
#   + a new public function                         -> 4, names it (refresh baseline)
#   a public function removed                       -> 12, names it
#   ... and the SOVERSION bumped                    -> 0 (soname moved)
#   a field inserted mid-way into a spec struct     -> 12 (irllrec_align_spec)
#   a field appended to a spec struct               -> 0 (struct_size contract)
#   the same insertion into irllrec_mlp_spec        -> 12 (its functions are
#                                                      also declared in callers' units)
#   a field appended to the frozen irllrec_mat      -> 12
#   an irllrec_x_* signature changed (uint64_t -> uint32_t argument),
#   an irllrec_x_* function removed and a field
#   inserted mid-way into irllrec_x_synth_spec      -> 0 (experimental tier, ignored)
# Usage: test_abi_gate.sh SOURCE_DIR [WORK_DIR]. Exit 77 (skip) without abigail-tools.
set -u
src=$(cd "$1" && pwd)
gate=$src/scripts/abi-check.sh
for t in abidw abidiff nm readelf cmake python3; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
[ -f "$src/abi/libirllrec.abi" ] || { echo "FAIL: no committed baseline in $src/abi"; exit 1; }

work=${2:-}
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/irllrec-abi-gate.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/tree" "$work/build" "$work/orig"
mkdir -p "$work/tree"
cp -r "$src/CMakeLists.txt" "$src/cmake" "$src/lib" "$src/include" "$src/pkgconfig" "$work/tree/"
tree=$work/tree
mkdir -p "$work/orig"
cp -r "$tree/lib" "$tree/include" "$tree/CMakeLists.txt" "$work/orig/"
# Put back only the files an earlier step edited, so the rebuild stays incremental.
restore() {
  (cd "$work/orig" && find . -type f) | while read -r f; do
    cmp -s "$work/orig/$f" "$tree/$f" || cp "$work/orig/$f" "$tree/$f"
  done
}

# Replace exactly one occurrence of OLD by NEW in FILE (python: no regex quoting).
edit() {
  python3 - "$1" "$2" "$3" <<'PY' || { echo "FAIL: test setup: pattern not found once in $1"; exit 1; }
import sys
path, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(path).read()
if s.count(old) != 1:
    sys.exit(1)
open(path, "w").write(s.replace(old, new))
PY
}

fails=0 n=0
# expect CODE LABEL [WORD]: run the gate, check its exit status and that WORD is named.
expect() {
  local want=$1 label=$2 word=${3:-} out rc
  n=$((n + 1))
  out=$(bash "$gate" --src "$tree" --build-dir "$work/build" 2>&1)
  rc=$?
  if [ $rc -ne "$want" ]; then
    echo "FAIL: $label: gate exit $rc, expected $want"; printf '%s\n' "$out" | sed 's/^/    /'
    fails=$((fails + 1)); return
  fi
  if [ -n "$word" ] && ! printf '%s\n' "$out" | grep -q "$word"; then
    echo "FAIL: $label: gate output does not name $word"; printf '%s\n' "$out" | sed 's/^/    /'
    fails=$((fails + 1)); return
  fi
  echo "ok: $label: exit $rc${word:+, names $word}"
  printf '%s\n' "$out" | grep -E 'FAIL|PASS|\[D\]|\[A\]|removed:|added:' | sed 's/^/    /'
}

expect 0 "pristine copy"

cat >> "$tree/lib/core/status.c" <<'C'

IRLLREC_API int32_t irllrec_x_gate_probe(void);
int32_t irllrec_x_gate_probe(void) { return 7; }
C
expect 0 "experimental irllrec_x_gate_probe exported"

cat >> "$tree/lib/core/status.c" <<'C'

int32_t irllrec_gate_added(void) { return 1; }
C
edit "$tree/include/irllrec/status.h" "IRLLREC_API const char *irllrec_status_str(irllrec_status s);" \
"IRLLREC_API const char *irllrec_status_str(irllrec_status s);
IRLLREC_API int32_t irllrec_gate_added(void);"
expect 4 "public function added" irllrec_gate_added

restore
edit "$tree/lib/tower/itm.c" \
  "double irllrec_itm_alpha(const irllrec_itm *itm) { return itm == NULL ? -1.0 : itm->spec.alpha; }" ""
edit "$tree/include/irllrec/itm.h" "IRLLREC_API double irllrec_itm_alpha(const irllrec_itm *itm);" ""
expect 12 "public function irllrec_itm_alpha removed" irllrec_itm_alpha

edit "$tree/CMakeLists.txt" 'set(IRLLREC_SOVERSION "0.${PROJECT_VERSION_MINOR}")' 'set(IRLLREC_SOVERSION "0.99")'
expect 0 "removed, with the SOVERSION bumped" "soname moved"

restore
edit "$tree/include/irllrec/align.h" "sizeof(irllrec_align_spec) as the caller compiled it */" \
"sizeof(irllrec_align_spec) as the caller compiled it */
    int32_t gate_mid;"
expect 12 "field inserted mid-way into irllrec_align_spec" irllrec_align_spec

restore
edit "$tree/include/irllrec/align.h" "} irllrec_align_spec;" "    int32_t gate_tail;
} irllrec_align_spec;"
expect 0 "field appended to irllrec_align_spec"

# A spec whose functions are also called from other translation units (the
# hook calls irllrec_mlp_create): its layout must be compared as well.
restore
edit "$tree/include/irllrec/mlp.h" "sizeof(irllrec_mlp_spec) as the caller compiled it */" \
"sizeof(irllrec_mlp_spec) as the caller compiled it */
    int32_t gate_mid;"
expect 12 "field inserted mid-way into irllrec_mlp_spec" irllrec_mlp_spec

restore
edit "$tree/include/irllrec/tensor.h" "    int64_t ld;    /**<" "    int64_t gate_tail;
    int64_t ld;    /**<"
expect 12 "field added to the frozen irllrec_mat" irllrec_mat

# The experimental tier (irllrec_x_*, abi/irllrec.suppr) may break in any
# release: incompatible changes to it must not trip the gate.
restore
edit "$tree/include/irllrec/rng.h" "irllrec_x_rng_below(irllrec_x_rng *rng, uint64_t n);" \
  "irllrec_x_rng_below(irllrec_x_rng *rng, uint32_t n);"
edit "$tree/lib/core/rng.c" "irllrec_x_rng_below(irllrec_x_rng *rng, uint64_t n) {" \
  "irllrec_x_rng_below(irllrec_x_rng *rng, uint32_t n) {"
edit "$tree/include/irllrec/rng.h" "IRLLREC_API double irllrec_x_rng_normal(irllrec_x_rng *rng);" ""
edit "$tree/lib/core/rng.c" \
  "double irllrec_x_rng_normal(irllrec_x_rng *rng) { return irllrec__rng_normal(&rng->r); }" ""
edit "$tree/include/irllrec/synth.h" "    int32_t n_items;           /**<" "    int32_t gate_mid;
    int32_t n_items;           /**<"
expect 0 "experimental: irllrec_x_rng_below's argument narrowed, irllrec_x_rng_normal removed, field inserted mid-way into irllrec_x_synth_spec"
# ... and the change really reached the library the gate looked at.
n=$((n + 1))
so=$(readlink -f "$work/build/libirllrec.so" 2>/dev/null || true)
if [ -z "$so" ] || nm -D --defined-only "$so" | grep -qw irllrec_x_rng_normal; then
  echo "FAIL: experimental: the rebuilt library still exports irllrec_x_rng_normal"; fails=$((fails + 1))
else
  echo "ok: experimental: the rebuilt library no longer exports irllrec_x_rng_normal"
fi

if [ $fails -ne 0 ]; then echo "abi gate: $fails of $n checks FAILED"; exit 1; fi
echo "abi gate: all $n checks passed"
