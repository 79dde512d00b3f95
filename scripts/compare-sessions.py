#!/usr/bin/python3
"""Compares two session HDF5 files with h5py: the same groups and datasets, each with the same
dtype, shape, storage layout (contiguous or chunked, chunk shape) and values (NaN equal to NaN),
and the same attributes apart from the save times. Prints the differences; exit 1 if any.

    /usr/bin/python3 scripts/compare-sessions.py before.h5 after.h5   (the system Python has h5py)
"""
import sys

import h5py
import numpy as np

# Set by the clock at each save or open, not by the data.
TIMED_ATTRS = {"created_at", "saved_at", "stage1_timestamp"}
TIMED_DATASETS = {"pipeline/session_info/step_log", "pipeline/session_info/warning_log"}


def items(f):
    found = {}
    f.visititems(lambda name, obj: found.__setitem__(name, obj))
    return found


def same_values(a, b):
    # Scalar strings come back as bytes, everything else as numpy arrays.
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def main(left, right):
    diffs = []
    datasets = 0
    with h5py.File(left, "r") as fa, h5py.File(right, "r") as fb:
        ia, ib = items(fa), items(fb)
        for name in sorted(set(ia) ^ set(ib)):
            diffs.append(f"only in {'the first' if name in ia else 'the second'}: {name}")
        for name in sorted(set(ia) & set(ib)):
            a, b = ia[name], ib[name]
            if type(a) is not type(b):
                diffs.append(f"{name}: a {type(a).__name__} vs a {type(b).__name__}")
                continue
            attrs = (set(a.attrs) | set(b.attrs)) - TIMED_ATTRS
            for key in sorted(attrs):
                if key not in a.attrs or key not in b.attrs or not np.array_equal(a.attrs[key], b.attrs[key]):
                    diffs.append(f"{name}@{key} differs")
            if isinstance(a, h5py.Dataset):
                datasets += 1
                if (a.dtype, a.shape, a.chunks, a.compression) != (b.dtype, b.shape, b.chunks, b.compression):
                    diffs.append(f"{name}: {a.dtype} {a.shape} chunks {a.chunks} vs {b.dtype} {b.shape} chunks {b.chunks}")
                elif name not in TIMED_DATASETS and not same_values(a[()], b[()]):
                    diffs.append(f"{name}: values differ")
    for d in diffs[:50]:
        print(d)
    print(f"{datasets} datasets compared, {len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
