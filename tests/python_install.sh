#!/usr/bin/env bash
# The Python package installed beside the library works with nothing but
# PYTHONPATH: install into a temporary prefix, then run /usr/bin/python3 with
# PYTHONPATH = the installed package's parent directory only (no IRLLREC_LIB,
# no LD_LIBRARY_PATH, not from the source tree), build a small model with a
# hook and call recommend, explain, cold start and fold-in on it. Then move
# the prefix and run again: the library path is relative to the package.
# Usage: python_install.sh BUILD_DIR. Exit 77 (skipped) without NumPy.
set -eu
build=$1
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
if ! "$py" -c 'import numpy' >/dev/null 2>&1; then
  echo "python_install: $py cannot import numpy (apt install python3-numpy): skipped"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pkg=$tmp/prefix/lib/python3/dist-packages/irllrec   # the documented default
[ -f "$pkg/__init__.py" ] && [ -f "$pkg/_libpath.py" ] || fail "no package in $pkg"
run() {  # PREFIX
  (cd "$tmp" && env -u IRLLREC_LIB -u IRLLREC_LGCN_LIB -u LD_LIBRARY_PATH -u LD_PRELOAD \
     PYTHONPATH="$1/lib/python3/dist-packages" PYTHONDONTWRITEBYTECODE=1 "$py" - "$1" <<'PY'
import sys
import numpy as np
import irllrec as irl
prefix = sys.argv[1]
assert irl.__file__.startswith(prefix + "/"), irl.__file__
assert irl.library_path().startswith(prefix + "/"), irl.library_path()
ctx = irl.Context()
U, I, d, D, K = 4, 6, 3, 5, 3
rng = np.random.default_rng(1)
ue, ie = rng.normal(size=(U, d)).astype(np.float32), rng.normal(size=(I, d)).astype(np.float32)
hook = irl.Hook(ctx, n_users=U, n_items=I, dim=d, n_intents=K, n_layers=0, max_batch=4,
                profile_dim=D, intent_dim=D)
for name, n in (("user_profile", U), ("item_profile", I), ("user_intent", U),
                ("item_intent", I)):
    hook.set_text(name, rng.normal(size=(n, D)).astype(np.float32))
seen = irl.csr_from_pairs(U, I, [0, 0, 1], [1, 2, 3])
rec = irl.Recommender.from_embeddings(ctx, ue, ie, seen=seen, hook=hook)
ids, scores, counts = rec.recommend([0, 1], 3)
s0 = ue[0] @ ie.T
want = [j for j in np.argsort(-s0, kind="stable") if j not in (1, 2)][:3]
assert ids[0].tolist() == want and counts.tolist() == [3, 3], (ids, want)
x = rec.explain(0, int(ids[0, 0]), top=K)
assert abs(x["score"] - float(s0[ids[0, 0]])) < 1e-5, x
assert abs(sum(x["contribution"]) + x["residual"] - x["score"]) < 1e-5, x
new = rec.add_from_text("items", profile=rng.normal(size=(1, D)).astype(np.float32))
assert new == I and rec.info()["n_items"] == I + 1
assert abs(np.linalg.norm(rec.embeddings("items")[new]) -
           np.linalg.norm(ie, axis=1).mean()) < 1e-4
uid = rec.add_user([new, 0])
assert uid == U and new not in rec.recommend([uid], 3)[0][0]
print("python_install: recommend, explain, cold start and fold-in from", irl.library_path())
PY
  )
}
run "$tmp/prefix" || fail "installed package in $tmp/prefix"
mv "$tmp/prefix" "$tmp/moved"
run "$tmp/moved" || fail "installed package after moving the prefix"
echo "python_install: the installed package found its library without IRLLREC_LIB, also moved"
