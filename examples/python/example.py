"""LightGCN + IRLLRec trained from Python on NumPy arrays (docs/python.md).

    /usr/bin/python3 examples/python/example.py [epochs]

Generates SYNTHETIC data with the library's generator, trains, and prints the
epoch-mean loss and validation Recall@20 / NDCG@20 (one line per epoch). Then
serves the trained model (irllrec.Recommender, docs/serving.md): the top 5 for
user 0 and the intents behind the first, saved to and loaded from a file.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import irllrec as irl  # noqa: E402

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
ctx = irl.Context(log=lambda level, msg: print("libirllrec:", msg, file=sys.stderr))

with tempfile.TemporaryDirectory() as tmp:  # SYNTHETIC: nothing in it is real
    irl.synth_write(ctx, tmp, n_users=1000, n_items=800, mean_degree=8.0, seed=2025)
    train_u, train_i = irl.read_lightgcn_txt(os.path.join(tmp, "train.txt"))
    val_u, val_i = irl.read_lightgcn_txt(os.path.join(tmp, "val.txt"))
    texts = {k: np.load(os.path.join(tmp, f)) for k, f in [
        ("user_profile", "usr_prf.npy"), ("item_profile", "itm_prf.npy"),
        ("user_intent", "usr_int.npy"), ("item_intent", "itm_int.npy")]}
U, I = 1000, 800

model = irl.LightGCN(U, I, train_u, train_i, dim=32, n_layers=3, keep_rate=1.0, reg=1e-7,
                     seed=2023, lr=1e-3)
irlrec = irl.LightGCNIRL(ctx, model, texts, max_batch=1024, seed=2023)  # paper preset (docs/hook.md)
evaluator = irl.Evaluator(ctx, I, ks=(20,))
val_csr = irl.csr_from_pairs(U, I, val_u, val_i)
train_keys = train_u.astype(np.int64) * I + train_i
rng = np.random.default_rng(2023)

for epoch in range(epochs):
    # one uniform negative per train pair, redrawn while it is a train item
    neg = rng.integers(0, I, len(train_u)).astype(np.int32)
    while (bad := np.isin(train_u.astype(np.int64) * I + neg, train_keys)).any():
        neg[bad] = rng.integers(0, I, int(bad.sum()))
    order = rng.permutation(len(train_u))
    u, p, n = train_u[order], train_i[order], neg[order]
    losses = [irlrec.train_step(u[s:s + 1024], p[s:s + 1024], n[s:s + 1024])
              for s in range(0, len(u), 1024)]
    model.forward(irl.LGCN_EVAL)
    E = model.final()
    recall, ndcg, _ = evaluator.run(E[:U], E[U:], (model.indptr, model.indices), val_csr)
    print("epoch %3d  loss %.4f (bpr %.4f, hook %.4f)  val R@20 %.4f N@20 %.4f" % (
        epoch, np.mean([x["total"] for x in losses]), np.mean([x["bpr"] for x in losses]),
        np.mean([x["hook_total"] for x in losses]), recall[20], ndcg[20]))

# Serving: the final embeddings, the TRAIN items, the trained hook and the L
# layer views it read become a Recommender, saved and loaded like any model.
layers = [model.layer(l) for l in range(model.n_layers)]
rec = irl.Recommender.from_embeddings(ctx, E[:U], E[U:], seen=(model.indptr, model.indices),
                                      hook=irlrec.hook, layers=layers)
with tempfile.TemporaryDirectory() as tmp:
    rec.save(os.path.join(tmp, "model.irlm"))
    rec = irl.Recommender.load(os.path.join(tmp, "model.irlm"), ctx)
ids, scores, _ = rec.recommend([0], 5)
print("user 0: top 5 items", ids[0].tolist())
ex = rec.explain(0, int(ids[0, 0]), top=3)
print("item %d: score %.4f = %s + residual %.4f" % (
    ids[0, 0], ex["score"], " + ".join("intent %d (%.4f)" % (k, c) for k, c in
                                       zip(ex["intents"], ex["contribution"])), ex["residual"]))
