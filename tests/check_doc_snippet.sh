#!/usr/bin/env bash
# docs/hook.md's first C snippet ("In about 30 lines") compiles as C11 and as
# C++17 with -Wall -Wextra -Wpedantic -Werror. The snippet is extracted from
# the markdown as written; its first #include lines stay at file scope, the
# rest becomes the body of a function, after declarations of the names it
# leaves to the host (sizes, buffers, the host's own loss and optimizer).
# Usage: check_doc_snippet.sh SOURCE_DIR CC [CXX]
set -u
src=$1 cc=$2 cxx=${3:-}
md=$src/docs/hook.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/irllrec_snippet.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The first ```c block after the "In about 30 lines" heading.
awk '/^## In about 30 lines/ {sec=1} sec && /^```c$/ {on=1; next}
     on && /^```$/ {exit} on {print}' "$md" > "$tmp/snippet.txt"
[ -s "$tmp/snippet.txt" ] || { echo "FAIL: no C snippet found in $md"; exit 1; }
{
  grep '^#include' "$tmp/snippet.txt"
  cat <<'HARNESS'
enum { U = 4, I = 5, D = 8, B = 2 };
static const int64_t n_batches = 1;
static const float *prf_u, *prf_i, *int_u, *int_i, *E_u, *E_i;
static float *grad_u, *grad_i;
static const int32_t *users, *pos, *neg;
void zero(float *g);
void your_loss_and_grads(const float *eu, const float *ei, const int32_t *u, const int32_t *p,
                         const int32_t *n, float *gu, float *gi);
void your_optimizer_step(const float *eu, const float *ei, const float *gu, const float *gi);
void snippet(void);
void snippet(void)
{
HARNESS
  grep -v '^#include' "$tmp/snippet.txt"
  echo "}"
} > "$tmp/snippet.c"
fail=0 n=0
try() {
  local tool=$1 lang=$2 std=$3
  if ! "$tool" -std="$std" -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$src/include" \
       -x "$lang" "$tmp/snippet.c" 2>"$tmp/err"; then
    cat "$tmp/err"; echo "FAIL: docs/hook.md snippet as $std ($tool)"; fail=1
  fi
  n=$((n + 1))
}
try "$cc" c c11
if [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1; then
  try "$cxx" c++ c++17
else
  echo "FAIL: no C++ compiler to check the snippet as C++17"; fail=1
fi
[ $fail -eq 0 ] && echo "docs/hook.md snippet: $n compilations (C11, C++17), -Werror clean"
exit $fail
