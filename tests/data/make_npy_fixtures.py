#!/usr/bin/python3
"""Regenerate tests/data/npy/*.npy with real NumPy (run once; outputs are committed).

The values are exactly representable in float32, so tests/test_npy.c can
compare them with ==:  m[r][c] = (r + 1) * 10 + c + 0.25 * (c % 2) - 0.5 * r
"""
import os
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")


def mat(rows, cols):
    r = np.arange(rows, dtype=np.float64)[:, None]
    c = np.arange(cols, dtype=np.float64)[None, :]
    return (r + 1) * 10 + c + 0.25 * (c % 2) - 0.5 * r


def save(name, arr, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    save("f4_3x4.npy", mat(3, 4).astype("<f4"))
    save("f8_2x3.npy", mat(2, 3).astype("<f8"))
    save("f4_1d_5.npy", mat(5, 1).reshape(5).astype("<f4"))
    save("f4_fortran_3x4.npy", np.asfortranarray(mat(3, 4).astype("<f4")))
    save("i4_2x2.npy", np.array([[1, 2], [3, 4]], dtype="<i4"))
    save("f4_be_2x2.npy", mat(2, 2).astype(">f4"))
    save("f4_v2_2x3.npy", mat(2, 3).astype("<f4"), version=(2, 0))
    save("f4_v3_2x3.npy", mat(2, 3).astype("<f4"), version=(3, 0))
    save("f4_3d.npy", np.zeros((2, 2, 2), dtype="<f4"))
    save("f4_scalar.npy", np.array(1.5, dtype="<f4"))


if __name__ == "__main__":
    main()
