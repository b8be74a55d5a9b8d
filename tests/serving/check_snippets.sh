#!/usr/bin/env bash
# docs/serving.md, section "Each call in C, C++ and Python": every ```c,
# ```cpp and ```python block under each "### " heading is extracted as
# written, wrapped in a harness that provides `ctx` and `rec` (the model
# written by irllrec_snippet_model), compiled (C11, C++17: -Wall -Wextra
# -Wpedantic -Werror) and run; the three outputs of a heading must be
# non-empty and identical. Python runs with /usr/bin/python3 (or
# $IRLLREC_PYTHON) when it imports numpy; otherwise the Python blocks are
# only counted and the run says so.
# Usage: check_snippets.sh SOURCE_DIR LIBIRLLREC_SO MODEL_TOOL CC CXX
set -u
src=$1 lib=$2 tool=$3 cc=$4 cxx=$5
md=$src/docs/serving.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/irllrec_serving.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }

# <n>-<slug>.<c|cpp|python>, n the heading's number within the section.
awk -v dir="$tmp" '
  /^## / { sec = ($0 == "## Each call in C, C++ and Python"); next }
  !sec { next }
  /^### / { n++; slug = tolower($2); next }
  /^```(c|cpp|python)$/ && n { f = dir "/" n "-" slug "." substr($0, 4); on = 1; next }
  on && /^```$/ { on = 0; close(f); next }
  on { print > f }' "$md"
ls "$tmp"/*.c >/dev/null 2>&1 || { echo "FAIL: no snippets found in $md"; exit 1; }

"$tool" "$tmp/model.irlm" || { echo "FAIL: $tool could not write the model"; exit 1; }
libdir=$(dirname "$lib")
py=""
for p in ${IRLLREC_PYTHON:-} /usr/bin/python3; do
  if "$p" -c 'import numpy' >/dev/null 2>&1; then py=$p; break; fi
done

c_harness() {  # SNIPPET
  grep '^#include' "$1"
  printf '#include <stdio.h>\n#include <irllrec/irllrec.h>\n#include <irllrec/serve.h>\n'
  printf 'static int snippet(irllrec_ctx *ctx, irllrec_rec *rec)\n{\n'
  grep -v '^#include' "$1" | sed 's/^/    /'
  cat <<'C'
    return 0;
}
int main(void)
{
    irllrec_ctx *ctx = NULL;
    irllrec_rec *rec = NULL;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) return 2;
    int rc = irllrec_rec_load(ctx, "model.irlm", &rec) == IRLLREC_OK ? snippet(ctx, rec) : 3;
    if (rc == 3) fprintf(stderr, "%s\n", irllrec_ctx_errmsg(ctx));
    irllrec_rec_free(rec);
    irllrec_ctx_free(ctx);
    return rc;
}
C
}

cxx_harness() {  # SNIPPET
  printf '#include <cstdio>\n#include <vector>\n#include <irllrec/irllrec.hpp>\n'
  printf 'static void snippet(irllrec::context &ctx, irllrec::recommender &rec)\n{\n'
  printf '    (void)ctx;\n'
  sed 's/^/    /' "$1"
  cat <<'CXX'
}
int main()
{
    try {
        irllrec::context ctx;
        irllrec::recommender rec = irllrec::recommender::load(ctx, "model.irlm");
        snippet(ctx, rec);
    } catch (const irllrec::error &e) {
        std::fprintf(stderr, "irllrec::error %d: %s\n", e.status(), e.what());
        return 1;
    }
    return 0;
}
CXX
}

py_harness() {  # SNIPPET
  printf 'import numpy as np\nimport irllrec as irl\n'
  printf 'ctx = irl.Context()\nrec = irl.Recommender.load("model.irlm", ctx)\n'
  cat "$1"
}

build_run() {  # SNIPPET LANG -> $SNIPPET.out
  local s=$1 lang=$2 base=${1%.*}
  case $lang in
    c) c_harness "$s" > "$base.main.c"
       "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$src/include" "$base.main.c" "$lib" \
         -Wl,-rpath,"$libdir" -o "$base.c.bin" || return 1
       (cd "$tmp" && "$base.c.bin") ;;
    cpp) cxx_harness "$s" > "$base.main.cpp"
       "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$src/include" "$base.main.cpp" \
         "$lib" -Wl,-rpath,"$libdir" -o "$base.cpp.bin" || return 1
       (cd "$tmp" && "$base.cpp.bin") ;;
    python) py_harness "$s" > "$base.main.py"
       (cd "$tmp" && IRLLREC_LIB=$lib PYTHONPATH=$src/examples/python PYTHONDONTWRITEBYTECODE=1 \
          "$py" "$base.main.py") ;;
  esac
}

n=0
for c in "$tmp"/*.c; do
  base=${c%.c} name=$(basename "$base")
  langs="c cpp"
  [ -n "$py" ] && langs="$langs python"
  for lang in $langs; do
    [ -f "$base.$lang" ] || { die "$name: no $lang snippet"; continue; }
    [ "$(wc -l < "$base.$lang")" -le 14 ] || die "$name.$lang: more than 14 lines"
    build_run "$base.$lang" "$lang" > "$base.$lang.out" || { die "$name.$lang failed"; continue; }
    [ -s "$base.$lang.out" ] || die "$name.$lang printed nothing"
    n=$((n + 1))
  done
  for lang in cpp python; do
    [ -f "$base.$lang.out" ] || continue
    cmp -s "$base.c.out" "$base.$lang.out" || {
      die "$name: C and $lang print different lines"; diff "$base.c.out" "$base.$lang.out"; }
  done
  echo "== $name"; cat "$base.c.out"
done
[ -n "$py" ] || echo "no python3 with numpy: the Python snippets were not run"
[ $fail -eq 0 ] && echo "docs/serving.md: $n snippets compiled and run, outputs agree"
exit $fail
