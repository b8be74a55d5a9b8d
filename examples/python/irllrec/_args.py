"""Argument checks made before any C call, NumPy views, CSR arrays, IrllrecError."""
import ctypes
import numbers
import operator

import numpy as np

from ._types import Mat, Csr, c_f32p, c_i32p, c_i64p
from ._loader import lib

# ---- errors and array views ----------------------------------------------------


class IrllrecError(RuntimeError):
    """A libirllrec call failed: .status (int), .name (e.g. "IRLLREC_E_SHAPE"
    text from irllrec_status_str) and the context's message."""

    def __init__(self, status, message):
        self.status = int(status)
        self.name = lib().irllrec_status_str(self.status).decode()
        self.message = message
        super().__init__("%s (%s)" % (message, self.name) if message else self.name)


def _status_str(st):
    return lib().irllrec_status_str(st).decode()


# C integer types of the structs and prototypes, with their ranges.
_INT_TYPES = {ctypes.c_int32: ("int32_t", -2 ** 31, 2 ** 31 - 1),
              ctypes.c_int64: ("int64_t", -2 ** 63, 2 ** 63 - 1),
              ctypes.c_uint32: ("uint32_t", 0, 2 ** 32 - 1),
              ctypes.c_uint64: ("uint64_t", 0, 2 ** 64 - 1)}


def _int(v, ctype, where, name):
    """v as a Python int that fits ctype; TypeError for a non-integer (1.9, "4",
    a float 8.0), ValueError out of range: never wrapped or truncated."""
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError("%s: %s = %r is not an integer" % (where, name, v)) from None
    cname, lo, hi = _INT_TYPES[ctype]
    if not lo <= i <= hi:
        raise ValueError("%s: %s = %d does not fit %s [%d, %d]" % (where, name, i, cname, lo, hi))
    return i


def _real(v, where, name):
    if not isinstance(v, numbers.Real):
        raise TypeError("%s: %s = %r is not a number" % (where, name, v))
    return float(v)


def _set_fields(struct, fields, where, what="field", skip=("struct_size", "reserved0")):
    """Set struct fields from keyword arguments, each checked against its C type."""
    types = dict(struct._fields_)
    for k, v in fields.items():
        if k not in types or k in skip:
            raise TypeError("%s: unknown %s %r" % (where, what, k))
        t = types[k]
        if t in _INT_TYPES:
            v = _int(v, t, where, k)
        elif t is ctypes.c_double:
            v = _real(v, where, k)
        setattr(struct, k, v)


def _int_array(a, dtype, where, name):
    """A 1-D array of integers as a contiguous array of dtype (np.int32 ids,
    np.int64 offsets). TypeError for non-integers (floats such as 1.9, bools),
    ValueError for a value outside dtype's range, naming the first one."""
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError("%s: %s: need a 1-D array, got %d dimensions" % (where, name, arr.ndim))
    if arr.size == 0:
        return np.zeros(0, dtype=dtype)
    info = np.iinfo(dtype)
    if arr.dtype == object:  # Python ints beyond int64, or mixed objects
        vals = arr.tolist()
        for k, x in enumerate(vals):
            if not isinstance(x, numbers.Integral):
                raise TypeError("%s: %s[%d] = %r is not an integer" % (where, name, k, x))
    elif arr.dtype.kind in "iu":
        if np.can_cast(arr.dtype, dtype, "safe") or (
                int(arr.min()) >= info.min and int(arr.max()) <= info.max):
            return np.ascontiguousarray(arr, dtype=dtype)
        vals = arr.tolist()
    else:
        raise TypeError("%s: %s: need integers (an integer array or a list of ints), got %s"
                        % (where, name, arr.dtype))
    for k, x in enumerate(vals):
        if not info.min <= x <= info.max:
            raise ValueError("%s: %s[%d] = %d does not fit %s [%d, %d]"
                             % (where, name, k, x, info.dtype.name + "_t", info.min, info.max))
    return np.array(vals, dtype=dtype)


def mat(a, writable=False, name="array", where=None):
    """irllrec_mat view of a 2-D float32 NumPy array (no copy). ld is the row
    stride in floats, so slices like a[:, :d] of a wider array work."""
    if where:
        name = "%s: %s" % (where, name)
    if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != 2:
        raise TypeError("%s: need a 2-D float32 numpy array" % name)
    if not a.flags.aligned:
        raise ValueError("%s: data is not float-aligned; use np.ascontiguousarray" % name)
    if writable and not a.flags.writeable:
        raise ValueError("%s: must be writable" % name)
    rows, cols = a.shape
    s0, s1 = a.strides
    if (cols > 1 and s1 != 4) or s0 % 4 != 0 or (rows > 1 and s0 // 4 < cols) or s0 < 0:
        raise ValueError("%s: rows must be contiguous float32 with a row stride >= cols "
                         "(strides %s); use np.ascontiguousarray" % (name, a.strides))
    ld = s0 // 4 if rows > 1 else cols
    return Mat(a.ctypes.data_as(c_f32p), rows, cols, max(ld, cols))


def _ids(a, name, where):
    return _int_array(a, np.int32, where, name)


def _view(ptr, shape):
    return np.ctypeslib.as_array(ptr, shape=shape)


def csr_from_pairs(n_rows, n_cols, rows, cols, where="csr_from_pairs", names=("rows", "cols"),
                   bounds=("n_rows", "n_cols")):
    """Sorted, duplicate-free CSR (indptr int64, indices int32) of (row, col) pairs."""
    n_rows = _int(n_rows, ctypes.c_int64, where, bounds[0])
    n_cols = _int(n_cols, ctypes.c_int64, where, bounds[1])
    for n, bname in ((n_rows, bounds[0]), (n_cols, bounds[1])):
        if not 0 <= n <= 2 ** 31:  # ids are int32
            raise ValueError("%s: %s = %d not in [0, 2^31]" % (where, bname, n))
    rows = _int_array(rows, np.int64, where, names[0])
    cols = _int_array(cols, np.int64, where, names[1])
    if rows.shape != cols.shape:
        raise ValueError("%s: %s and %s differ in length (%d, %d)"
                         % (where, names[0], names[1], len(rows), len(cols)))
    for arr, nm, bound, bname in ((rows, names[0], n_rows, bounds[0]),
                                  (cols, names[1], n_cols, bounds[1])):
        bad = np.flatnonzero((arr < 0) | (arr >= bound))
        if bad.size:
            k = int(bad[0])
            raise ValueError("%s: %s[%d] = %d not in [0, %s = %d)"
                             % (where, nm, k, int(arr[k]), bname, bound))
    key = np.unique(rows * n_cols + cols)
    r, c = key // n_cols, key % n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return indptr, c.astype(np.int32)


def _csr(n_rows, n_cols, indptr, indices):
    return Csr(n_rows, n_cols, int(indptr[-1]), indptr.ctypes.data_as(c_i64p),
               indices.ctypes.data_as(c_i32p))


def _csr_arg(where, name, n_rows, n_cols, csr, rows_are):
    """(indptr, indices) checked against what the C side reads: indptr exactly
    n_rows + 1 offsets, indices at least indptr[-1] ids. Returns (Csr, keep),
    keep holding the arrays for the duration of the call."""
    if not isinstance(csr, (tuple, list)) or len(csr) != 2:
        raise TypeError("%s: %s: need an (indptr, indices) pair" % (where, name))
    pre = "%s: %s" % (where, name + " " if name else "")
    indptr = _int_array(csr[0], np.int64, where, (name + " " if name else "") + "indptr")
    if len(indptr) != n_rows + 1:
        raise ValueError("%sindptr has %d entries, need %s + 1 = %d"
                         % (pre, len(indptr), rows_are, n_rows + 1))
    indices = _int_array(csr[1], np.int32, where, (name + " " if name else "") + "indices")
    nnz = int(indptr[-1])
    if len(indices) < nnz:
        raise ValueError("%sindices has %d entries, fewer than indptr[-1] = %d"
                         % (pre, len(indices), nnz))
    return _csr(n_rows, n_cols, indptr, indices), (indptr, indices)
