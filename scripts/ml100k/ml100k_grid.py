"""The MovieLens-100K LightGCN page's plan (docs/results-ml100k.md): its
variants, the ablations' switches, the protocol checks and the search grids.
Shared by run_experiments.py (which runs them) and ml100k_report.py (which
writes the page about them)."""

VARIANTS = [
    ("lightgcn", "LightGCN"),
    ("rlmrec-con", "LightGCN + RLMRec-Con (profile alignment only)"),
    ("irllrec", "LightGCN + IRLLRec"),
    ("irllrec-no-pair", "IRLLRec without pairwise alignment (w_pair 0)"),
    ("irllrec-no-tran", "IRLLRec without translation (w_tran 0)"),
    ("irllrec-no-itm", "IRLLRec without ITM (w_itm 0)"),
]
ABLATIONS = {"irllrec-no-pair": "--w-pair", "irllrec-no-tran": "--w-tran",
             "irllrec-no-itm": "--w-itm"}

PROTOCOLS = [("1e-3", "3", "5"), ("1e-3", "3", "20"), ("5e-3", "3", "5"),
             ("5e-3", "3", "10"), ("5e-3", "3", "20"), ("5e-3", "1", "30")]

W_KD_GRID = ["1e-2", "3e-3", "1e-3", "3e-4"]
TAU_GRID = ["0.2", "0.5"]
W_PAIR_GRID = ["1e-2", "3e-3", "1e-3", "3e-4"]
HOOK_LR_GRID = ["1e-3", "5e-3"]
# (w_tran, w_itm): the paper's, ten and a hundred times both
TRAN_ITM_GRID = [("5e-4", "1e-4"), ("5e-3", "1e-3"), ("5e-2", "1e-2")]
INTENTS_GRID = ["128", "64"]
