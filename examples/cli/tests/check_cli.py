"""Checks of the irllrec tool's --json output against an independent
computation from the trainer's own files (cli_test.sh). Standard library
only: the .npy files are read here, not with numpy.

  check_cli.py recommend RUN DATA K INCLUDE_SEEN [ALLOW|-] [DENY|-] < lines
  check_cli.py similar RUN SIDE K < lines
  check_cli.py explain_nodes SIDE K TOP N_NODES < lines
  check_cli.py explain_pairs RUN K < lines
  check_cli.py inspect ROWS DIM < one line

RUN is the trainer's output folder (user_emb.npy, item_emb.npy), DATA the
dataset folder (train.txt). Exit status 1 with a message on the first
mismatch.
"""
import ast
import json
import math
import struct
import sys

TOL = 1e-4  # float32 dot products summed in another order


def fail(msg):
    print("check_cli: " + msg, file=sys.stderr)
    sys.exit(1)


def read_npy(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:6] != b"\x93NUMPY":
        fail(path + ": not a .npy file")
    major = raw[6]
    hlen_size = 2 if major == 1 else 4
    hlen = int.from_bytes(raw[8:8 + hlen_size], "little")
    header = ast.literal_eval(raw[8 + hlen_size:8 + hlen_size + hlen].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        fail(path + ": expected little-endian float32 in C order")
    rows, cols = header["shape"]
    data = raw[8 + hlen_size + hlen:]
    vals = struct.unpack("<%df" % (rows * cols), data[:4 * rows * cols])
    return [list(vals[r * cols:(r + 1) * cols]) for r in range(rows)]


def read_train(data_dir):
    seen = {}
    with open(data_dir + "/train.txt") as f:
        for line in f:
            parts = [int(x) for x in line.split()]
            if parts:
                seen[parts[0]] = set(parts[1:])
    return seen


def read_ids(path):
    if path == "-":
        return None
    with open(path) as f:
        text = f.read()
    ids = set()
    for line in text.splitlines():
        line = line.split("#")[0].replace(",", " ")
        ids.update(int(x) for x in line.split())
    return ids


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def cosine(a, b):
    return dot(a, b) / (math.sqrt(1e-8 + dot(a, a)) * math.sqrt(1e-8 + dot(b, b)))


def json_lines():
    lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            fail("line %d is not JSON (%s): %s" % (i + 1, e, line[:200]))
    return out


def keys(obj, want, what):
    if set(obj) != set(want):
        fail("%s: keys %s, want %s" % (what, sorted(obj), sorted(want)))


def same_ranking(got, ref, k, what):
    """got: [(id, score)] from the tool; ref: every candidate's (id, score)
    sorted best first. The ids must be ref's top k, up to swaps of scores
    within TOL (ties resolved in float32 by the tool)."""
    want = ref[:k]
    if len(got) != len(want):
        fail("%s: %d results, want %d" % (what, len(got), len(want)))
    for r, ((gi, gs), (wi, ws)) in enumerate(zip(got, want)):
        if abs(gs - ws) > TOL * max(1.0, abs(ws)):
            fail("%s: rank %d has score %.6f (id %d), the reference %.6f (id %d)"
                 % (what, r + 1, gs, gi, ws, wi))
    if len(ref) > k and len(got) == k and ref[k][1] > got[-1][1] + TOL:
        fail("%s: id %d (score %.6f) beats the last result" % (what, ref[k][0], ref[k][1]))
    ref_score = dict(ref)
    for gi, gs in got:
        if gi not in ref_score:
            fail("%s: id %d should have been excluded" % (what, gi))
        if abs(ref_score[gi] - gs) > TOL * max(1.0, abs(gs)):
            fail("%s: id %d scored %.6f, the reference %.6f" % (what, gi, gs, ref_score[gi]))
    for a, b in zip(got, got[1:]):
        if b[1] > a[1]:
            fail("%s: scores not descending" % what)


def check_recommend(run, data, k, include_seen, allow, deny):
    users = read_npy(run + "/user_emb.npy")
    items = read_npy(run + "/item_emb.npy")
    seen = read_train(data)
    allow, deny = read_ids(allow), read_ids(deny)
    lines = json_lines()
    for obj in lines:
        keys(obj, ["user", "k", "seen_excluded", "items"], "recommend line")
        u = obj["user"]
        if obj["k"] != k or obj["seen_excluded"] != (not include_seen):
            fail("user %d: k %s / seen_excluded %s" % (u, obj["k"], obj["seen_excluded"]))
        ref = []
        for i, e in enumerate(items):
            if not include_seen and i in seen.get(u, ()):
                continue
            if (allow is not None and i not in allow) or (deny is not None and i in deny):
                continue
            ref.append((i, dot(users[u], e)))
        ref.sort(key=lambda t: (-t[1], t[0]))
        for res in obj["items"]:
            keys(res, ["item", "score"], "recommend result")
        same_ranking([(r["item"], r["score"]) for r in obj["items"]], ref, k, "user %d" % u)
    print("recommend: %d users checked against user_emb.npy/item_emb.npy" % len(lines))


def check_similar(run, side, k):
    emb = read_npy(run + "/%s_emb.npy" % side)
    lines = json_lines()
    for obj in lines:
        keys(obj, [side, "k", "similar"], "similar line")
        q = obj[side]
        ref = sorted(((j, cosine(emb[q], e)) for j, e in enumerate(emb) if j != q),
                     key=lambda t: (-t[1], t[0]))
        for res in obj["similar"]:
            keys(res, [side, "score"], "similar result")
        same_ranking([(r[side], r["score"]) for r in obj["similar"]], ref, k, "%s %d" % (side, q))
    print("similar: %d %ss checked against %s_emb.npy" % (len(lines), side, side))


def exemplars_ok(r, n_nodes, what):
    ex = r["exemplars"]
    if not 1 <= len(ex) <= 3 or any(not 0 <= x < n_nodes for x in ex) or len(set(ex)) != len(ex):
        fail("%s, intent %d: exemplars %s are not 1..3 distinct ids below %d"
             % (what, r["intent"], ex, n_nodes))


def check_explain_nodes(side, n_intents, top, n_exemplar_nodes):
    lines = json_lines()
    for obj in lines:
        keys(obj, [side, "n_intents", "intents"], "explain line")
        for r in obj["intents"]:
            keys(r, ["intent", "prob", "exemplars"], "explain intent")
            exemplars_ok(r, n_exemplar_nodes, "%s %d" % (side, obj[side]))
        probs = [r["prob"] for r in obj["intents"]]
        if obj["n_intents"] != n_intents or len(probs) != top:
            fail("%s %d: %d intents listed of %s, want %d of %d"
                 % (side, obj[side], len(probs), obj["n_intents"], top, n_intents))
        if any(p < 0 or p > 1 for p in probs) or sum(probs) > 1 + 1e-4:
            fail("%s %d: not probabilities: %s" % (side, obj[side], probs))
        if probs != sorted(probs, reverse=True):
            fail("%s %d: not ordered by probability" % (side, obj[side]))
        if top == n_intents and abs(sum(probs) - 1) > 1e-4:
            fail("%s %d: all %d intents sum to %.6f" % (side, obj[side], top, sum(probs)))
    print("explain: %d %ss' intent distributions checked" % (len(lines), side))


def check_explain_pairs(run, n_intents):
    users = read_npy(run + "/user_emb.npy")
    items = read_npy(run + "/item_emb.npy")
    lines = json_lines()
    for obj in lines:
        keys(obj, ["user", "item", "score", "residual", "intents"], "explain pair")
        u, i = obj["user"], obj["item"]
        want = dot(users[u], items[i])
        if abs(obj["score"] - want) > TOL * max(1.0, abs(want)):
            fail("pair (%d, %d): score %.6f, <e_u, e_i> = %.6f" % (u, i, obj["score"], want))
        total = obj["residual"]
        for r in obj["intents"]:
            keys(r, ["intent", "shared", "contribution", "exemplars"], "explain pair intent")
            exemplars_ok(r, len(items), "pair (%d, %d)" % (u, i))
            total += r["contribution"]
        if len(obj["intents"]) == n_intents and abs(total - obj["score"]) > TOL:
            fail("pair (%d, %d): contributions + residual = %.6f, score %.6f"
                 % (u, i, total, obj["score"]))
        shared = [r["shared"] for r in obj["intents"]]
        if shared != sorted(shared, reverse=True):
            fail("pair (%d, %d): shared intents not best first" % (u, i))
    print("explain: %d pairs checked (score = <e_u, e_i>, contributions + residual)" % len(lines))


def check_inspect(rows, dim):
    objs = json_lines()
    if len(objs) != 1:
        fail("inspect --json printed %d lines" % len(objs))
    obj = objs[0]
    keys(obj, ["file", "format", "bytes", "checksums", "kind", "sections", "metadata"], "inspect")
    if obj["kind"] != "serving" or obj["checksums"] != "verified":
        fail("inspect: kind %s, checksums %s" % (obj["kind"], obj["checksums"]))
    sec = {s["name"]: s for s in obj["sections"]}
    if "serve.user_emb" not in sec or sec["serve.user_emb"]["shape"] != [rows, dim]:
        fail("inspect: serve.user_emb missing or not %d x %d: %s" % (rows, dim, sorted(sec)))
    meta = {m["key"]: m["value"] for m in obj["metadata"]}
    if meta.get("serve.kind") is None:
        fail("inspect: no serve.kind in the metadata")
    print("inspect --json: %d sections, serve.user_emb %d x %d" % (len(sec), rows, dim))


def main():
    a = sys.argv[1:]
    if not a:
        fail(__doc__)
    cmd = a[0]
    if cmd == "recommend":
        check_recommend(a[1], a[2], int(a[3]), a[4] == "1", a[5], a[6])
    elif cmd == "similar":
        check_similar(a[1], a[2], int(a[3]))
    elif cmd == "explain_nodes":
        check_explain_nodes(a[1], int(a[2]), int(a[3]), int(a[4]))
    elif cmd == "explain_pairs":
        check_explain_pairs(a[1], int(a[2]))
    elif cmd == "inspect":
        check_inspect(int(a[1]), int(a[2]))
    else:
        fail("unknown check " + cmd)


if __name__ == "__main__":
    main()
