#!/usr/bin/env python3
"""Write a noisy copy of a dataset folder, plus a manifest of what changed.

Independent of the library: it reads and writes the files the trainer reads
(docs/data-format.md): train.txt / val.txt / test.txt in the LightGCN text
format, stats.json (n_users, n_items) and the optional text embeddings
usr_prf.npy, itm_prf.npy, usr_int.npy, itm_int.npy (float32, one row per
user / item). Standard library only, so it runs on any python3.

  inject_noise.py interactions IN OUT --ratio R [--seed S]
      add round(R * |train|) fake TRAIN pairs; a fake pair's user is drawn
      with probability proportional to its train degree (noise is a share of
      each user's clicks), its item uniformly among the items that user has
      in no split and has not been given yet. val and test are untouched.
  inject_noise.py text IN OUT --scale S [--files usr_prf,itm_prf,...] [--seed S]
      row += S * |row| * g / |g|, g ~ N(0, I): Gaussian noise whose norm is
      S times the row's (a zero row stays zero).
  inject_noise.py mislead IN OUT --side users|items --fraction F [--seed S]
      round(F * n) nodes of that side, drawn without replacement, get every
      text row of that side from another uniformly drawn node (from the
      original texts, never itself).
  inject_noise.py quartiles IN OUT.json
      test users (>= 1 test item) in four groups by train degree (sorted by
      degree, then id; group sizes differ by at most one).

OUT must not exist (or be an empty directory). It is written in a temporary
sibling directory and renamed into place, so an error leaves nothing behind.
Every error is one line on stderr naming the file, line or value, exit 2.
"""
import argparse
import hashlib
import json
import math
import os
import random
import shutil
import struct
import sys
import tempfile

TOOL_VERSION = 1
SPLITS = ("train", "val", "test")
TEXTS = {"usr_prf": "users", "usr_int": "users", "itm_prf": "items", "itm_int": "items"}


class DataError(Exception):
    """A refusal: bad argument, unknown dataset shape, unreadable file."""


# ---- reading and writing the dataset files --------------------------------

def read_stats(folder):
    path = os.path.join(folder, "stats.json")
    try:
        with open(path, encoding="utf-8") as f:
            stats = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the dataset shape: {e}") from None
    for key in ("n_users", "n_items"):
        v = stats.get(key) if isinstance(stats, dict) else None
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0 or v >= 2**31:
            raise DataError(f"{path}: {key} must be a positive 32-bit integer, got {v!r}")
    return stats


def read_split(folder, name, n_users, n_items):
    """user -> sorted list of items; refuses ids outside the stated shape."""
    path = os.path.join(folder, name + ".txt")
    rows = {}
    try:
        f = open(path, encoding="ascii")
    except OSError as e:
        raise DataError(f"{path}: {e.strerror}") from None
    with f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                ids = [int(x) for x in fields]
            except ValueError:
                raise DataError(f"{path}:{lineno}: not a list of integer ids") from None
            u, items = ids[0], ids[1:]
            if not 0 <= u < n_users:
                raise DataError(f"{path}:{lineno}: unknown dataset shape: user {u} is "
                                f"outside [0, {n_users}) of stats.json")
            bad = [i for i in items if not 0 <= i < n_items]
            if bad:
                raise DataError(f"{path}:{lineno}: unknown dataset shape: item {bad[0]} is "
                                f"outside [0, {n_items}) of stats.json")
            if u in rows:
                raise DataError(f"{path}:{lineno}: user {u} has a second line")
            rows[u] = sorted(set(items))
    return rows


def write_split(path, rows):
    with open(path, "w", encoding="ascii") as f:
        for u in sorted(rows):
            if rows[u]:
                f.write(" ".join(str(x) for x in [u] + rows[u]) + "\n")


def read_npy(path):
    """(rows, cols, flat list of floats) of a 2-D little-endian float32 C-order .npy."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:6] != b"\x93NUMPY" or len(raw) < 10:
        raise DataError(f"{path}: not a .npy file")
    major = raw[6]
    if major == 1:
        hlen, start = struct.unpack("<H", raw[8:10])[0], 10
    elif major in (2, 3):
        hlen, start = struct.unpack("<I", raw[8:12])[0], 12
    else:
        raise DataError(f"{path}: .npy version {major} is not supported")
    header = raw[start:start + hlen].decode("latin-1")
    try:
        import ast
        meta = ast.literal_eval(header.strip())
        descr, fortran, shape = meta["descr"], meta["fortran_order"], tuple(meta["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        raise DataError(f"{path}: malformed .npy header") from None
    if descr != "<f4" or fortran or len(shape) != 2:
        raise DataError(f"{path}: need a 2-D little-endian float32 C-order array, got "
                        f"descr {descr!r}, fortran_order {fortran}, shape {shape}")
    body = raw[start + hlen:]
    if len(body) != 4 * shape[0] * shape[1]:
        raise DataError(f"{path}: holds {len(body)} data bytes, shape {shape} needs "
                        f"{4 * shape[0] * shape[1]}")
    return shape[0], shape[1], list(struct.unpack(f"<{shape[0] * shape[1]}f", body))


def write_npy(path, rows, cols, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{rows * cols}f", *values))


def load(folder):
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: not a dataset folder")
    stats = read_stats(folder)
    nu, ni = stats["n_users"], stats["n_items"]
    data = {"stats": stats, "splits": {s: read_split(folder, s, nu, ni) for s in SPLITS}}
    texts = {}
    for name, side in TEXTS.items():
        path = os.path.join(folder, name + ".npy")
        if os.path.exists(path):
            rows, cols, vals = read_npy(path)
            want = nu if side == "users" else ni
            if rows != want:
                raise DataError(f"{path}: unknown dataset shape: {rows} rows, stats.json has "
                                f"{want} {side}")
            texts[name] = (rows, cols, vals)
    data["texts"] = texts
    return data


# ---- the noise kinds -------------------------------------------------------

def check_unit(name, v):
    if not (isinstance(v, float) and math.isfinite(v) and 0.0 <= v <= 1.0):
        raise DataError(f"--{name} {v!r} is outside [0, 1]")


def add_interactions(data, ratio, rng):
    """Fake TRAIN pairs; returns the sorted list of (user, item) added."""
    check_unit("ratio", ratio)
    nu, ni = data["stats"]["n_users"], data["stats"]["n_items"]
    train = data["splits"]["train"]
    n_train = sum(len(v) for v in train.values())
    want = round(ratio * n_train)
    taken = {u: set() for u in range(nu)}
    for split in data["splits"].values():
        for u, items in split.items():
            taken[u].update(items)
    users = [u for u in sorted(train) if train[u]]
    free = {u: ni - len(taken[u]) for u in users}
    if want > sum(free.values()):
        raise DataError(f"--ratio {ratio}: {want} fake pairs asked for, only "
                        f"{sum(free.values())} (user, item) pairs are free")
    weights = [len(train[u]) for u in users]
    added = []
    while len(added) < want:
        u = rng.choices(users, weights)[0]
        if free[u] == 0:
            continue
        while True:
            i = rng.randrange(ni)
            if i not in taken[u]:
                break
        taken[u].add(i)
        free[u] -= 1
        added.append((u, i))
    for u, i in added:
        train[u] = sorted(set(train[u]) | {i})
    return sorted(added)


def gaussian_text(data, scale, files, rng):
    """Relative Gaussian noise on the named text matrices; returns rows changed per file."""
    if not (math.isfinite(scale) and 0.0 <= scale <= 10.0):
        raise DataError(f"--scale {scale!r} is outside [0, 10]")
    changed = {}
    for name in files:
        if name not in data["texts"]:
            raise DataError(f"--files: {name}.npy is not in the dataset folder")
        rows, cols, vals = data["texts"][name]
        n = 0
        for r in range(rows):
            row = vals[r * cols:(r + 1) * cols]
            norm = math.sqrt(sum(x * x for x in row))
            g = [rng.gauss(0.0, 1.0) for _ in range(cols)]
            gn = math.sqrt(sum(x * x for x in g))
            if norm == 0.0 or scale == 0.0 or gn == 0.0:
                continue
            k = scale * norm / gn
            vals[r * cols:(r + 1) * cols] = [x + k * y for x, y in zip(row, g)]
            n += 1
        changed[name] = n
    return changed


def mislead_text(data, side, fraction, rng):
    """Swap in other nodes' texts; returns [(node, donor)] sorted by node."""
    check_unit("fraction", fraction)
    names = [n for n, s in TEXTS.items() if s == side and n in data["texts"]]
    if not names:
        raise DataError(f"--side {side}: the dataset folder has no {side} text (.npy)")
    n = data["stats"]["n_users" if side == "users" else "n_items"]
    if n < 2:
        raise DataError(f"--side {side}: needs at least 2 {side} to swap texts")
    chosen = sorted(rng.sample(range(n), round(fraction * n)))
    pairs = []
    for node in chosen:
        donor = rng.randrange(n - 1)
        pairs.append((node, donor + (donor >= node)))
    for name in names:
        rows, cols, vals = data["texts"][name]
        orig = list(vals)
        for node, donor in pairs:
            vals[node * cols:(node + 1) * cols] = orig[donor * cols:(donor + 1) * cols]
    return pairs


def quartiles(data):
    train, test = data["splits"]["train"], data["splits"]["test"]
    users = sorted((len(train.get(u, [])), u) for u in test if test[u])
    groups, n = [], len(users)
    for q in range(4):
        part = users[q * n // 4:(q + 1) * n // 4]
        groups.append({"quartile": q + 1, "users": [u for _, u in part],
                       "train_degree_min": part[0][0] if part else None,
                       "train_degree_max": part[-1][0] if part else None})
    return groups


# ---- output ----------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_dataset(src, out, data, manifest, extra):
    """Everything of src (changed splits and texts rewritten) into out, atomically."""
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise DataError(f"{out}: exists; refusing to overwrite (give a new folder)")
    parent = os.path.dirname(os.path.abspath(out))
    tmp = tempfile.mkdtemp(prefix=".noise-", dir=parent)
    try:
        for name in sorted(os.listdir(src)):
            if os.path.isfile(os.path.join(src, name)) and name != "manifest.json":
                shutil.copyfile(os.path.join(src, name), os.path.join(tmp, name))
        if manifest["kind"] == "interactions":
            write_split(os.path.join(tmp, "train.txt"), data["splits"]["train"])
            stats = dict(data["stats"])
            stats["train"] = sum(len(v) for v in data["splits"]["train"].values())
            with open(os.path.join(tmp, "stats.json"), "w", encoding="utf-8") as f:
                json.dump(stats, f, indent=1)
                f.write("\n")
        for name in manifest.get("rewritten", []):
            rows, cols, vals = data["texts"][name]
            write_npy(os.path.join(tmp, name + ".npy"), rows, cols, vals)
        for name, text in extra.items():
            with open(os.path.join(tmp, name), "w", encoding="ascii") as f:
                f.write(text)
        parent_manifest = os.path.join(src, "manifest.json")
        if os.path.exists(parent_manifest):
            with open(parent_manifest, encoding="utf-8") as f:
                manifest["parent"] = json.load(f)
        manifest["files"] = {n: sha256(os.path.join(tmp, n)) for n in sorted(os.listdir(tmp))}
        with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")
        if os.path.isdir(out):
            os.rmdir(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def run(args):
    data = load(args.input)
    rng = random.Random(args.seed)
    manifest = {"tool": "inject_noise.py", "tool_version": TOOL_VERSION, "kind": args.kind,
                "seed": args.seed, "source": os.path.abspath(args.input)}
    extra = {}
    if args.kind == "quartiles":
        groups = quartiles(data)
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"source": manifest["source"], "groups": groups}, f, indent=1)
            f.write("\n")
        os.replace(tmp, args.output)
        return
    if args.kind == "interactions":
        added = add_interactions(data, args.ratio, rng)
        manifest.update(ratio=args.ratio, added=len(added))
        extra["added_train_pairs.txt"] = "".join(f"{u} {i}\n" for u, i in added)
    elif args.kind == "text":
        files = args.files.split(",") if args.files else sorted(data["texts"])
        changed = gaussian_text(data, args.scale, files, rng)
        manifest.update(scale=args.scale, rows_changed=changed, rewritten=sorted(changed))
    else:
        pairs = mislead_text(data, args.side, args.fraction, rng)
        names = sorted(n for n, s in TEXTS.items() if s == args.side and n in data["texts"])
        manifest.update(side=args.side, fraction=args.fraction, swapped=len(pairs),
                        rewritten=names)
        extra["swapped_text_rows.txt"] = "".join(f"{n} {d}\n" for n, d in pairs)
    write_dataset(args.input, args.output, data, manifest, extra)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="kind", required=True)
    for kind in ("interactions", "text", "mislead", "quartiles"):
        s = sub.add_parser(kind)
        s.add_argument("input")
        s.add_argument("output")
        s.add_argument("--seed", type=int, default=2025)
        if kind == "interactions":
            s.add_argument("--ratio", type=float, required=True)
        if kind == "text":
            s.add_argument("--scale", type=float, required=True)
            s.add_argument("--files", default="")
        if kind == "mislead":
            s.add_argument("--side", choices=("users", "items"), required=True)
            s.add_argument("--fraction", type=float, required=True)
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    try:
        run(args)
    except DataError as e:
        print(f"inject_noise.py {args.kind}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"inject_noise.py {args.kind}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
