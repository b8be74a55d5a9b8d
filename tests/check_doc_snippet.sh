#!/usr/bin/env bash
# The C snippets of the docs compile as C11 and as C++17 with -Wall -Wextra
# -Wpedantic -Werror:
#   docs/hook.md, the first ```c block after "## In about 30 lines";
#   docs/serving.md, the first ```c block after "## Ranking (rank.h)" and
#   the first after "## Trained recommenders (serve.h)".
# Each snippet is extracted from the markdown as written; its #include lines
# stay at file scope, the rest becomes the body of a function, after
# declarations of the names it leaves to the host (sizes, buffers, the
# host's own loss and optimizer, its context).
# Usage: check_doc_snippet.sh SOURCE_DIR CC [CXX]
set -u
src=$1 cc=$2 cxx=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/irllrec_snippet.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0

hook_harness() {
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
HARNESS
}

serving_harness() {
  cat <<'HARNESS'
#include <stdio.h>
static irllrec_ctx *ctx;
static irllrec_csr train;
static const float *user_emb, *item_emb;
static const int64_t n_users = 2000, n_items = 500, d = 32;
HARNESS
}

rec_harness() {
  cat <<'HARNESS'
static irllrec_ctx *ctx;
static irllrec_csr train;
static const irllrec_hook *hook;
static const irllrec_cmat *lay;
static const float *E_final;
static const int64_t U = 2000, I = 500, d = 32, n_clicked = 3;
static const int32_t user = 1, item = 2, *clicked;
HARNESS
}

try() {
  local tool=$1 lang=$2 std=$3 file=$4 what=$5
  if ! "$tool" -std="$std" -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$src/include" \
       -x "$lang" "$file" 2>"$tmp/err"; then
    cat "$tmp/err"; echo "FAIL: $what snippet as $std ($tool)"; fail=1
  fi
  n=$((n + 1))
}

# check PAGE HEADING HARNESS_FN
check() {
  local md=$src/docs/$1 heading=$2 harness=$3 base
  base=$tmp/$(basename "$1" .md)
  awk -v h="$heading" 'index($0, h) == 1 {sec=1} sec && /^```c$/ {on=1; next}
       on && /^```$/ {exit} on {print}' "$md" > "$base.txt"
  [ -s "$base.txt" ] || { echo "FAIL: no C snippet after \"$heading\" in $md"; fail=1; return; }
  {
    grep '^#include' "$base.txt"
    $harness
    echo "void snippet(void);"
    echo "void snippet(void)"
    echo "{"
    grep -v '^#include' "$base.txt"
    echo "}"
  } > "$base.c"
  try "$cc" c c11 "$base.c" "docs/$1"
  if [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1; then
    try "$cxx" c++ c++17 "$base.c" "docs/$1"
  else
    echo "FAIL: no C++ compiler to check the docs/$1 snippet as C++17"; fail=1
  fi
}

check hook.md "## In about 30 lines" hook_harness
check serving.md "## Ranking (rank.h)" serving_harness
check serving.md "## Trained recommenders (serve.h)" rec_harness
[ $fail -eq 0 ] && echo "doc snippets (docs/hook.md, docs/serving.md): $n compilations (C11, C++17), -Werror clean"
exit $fail
