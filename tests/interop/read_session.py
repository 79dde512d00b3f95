"""Reads a session file with h5py the way the lab's code does and prints what it found as JSON.

Run with Debian's /usr/bin/python3 (python3-h5py): an HDF5 reader independent of h5wasm.
"""
import json
import sys

import h5py
import numpy as np


def describe(node):
    if isinstance(node, h5py.Dataset):
        value = node[()]
        if node.dtype.kind in ("S", "O"):
            value = node.asstr()[()]
            value = value.tolist() if isinstance(value, np.ndarray) else value
        else:
            value = np.asarray(value).tolist()
        return {"kind": "dataset", "dtype": node.dtype.str, "shape": list(node.shape), "value": value}
    return {"kind": "group", "attrs": {k: to_json(v) for k, v in node.attrs.items()}}


def to_json(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def main(path, names):
    out = {}
    with h5py.File(path, "r") as f:
        out["/"] = {"attrs": {k: to_json(v) for k, v in f.attrs.items()}}
        # How the lab's readers use a session: fixed paths, [()] then float.
        out["acquisition_rate_as_float"] = float(f["metadata/acquisition_rate"][()])
        out["unit_names"] = sorted(f["units"].keys())
        out["completed_steps"] = [s.decode() if isinstance(s, bytes) else s for s in f["pipeline/session_info/completed_steps"][()]]
        for name in names:
            if name.startswith("exact:"):
                # 64-bit integers as decimal strings: JSON numbers lose precision past 2**53.
                out[name] = [str(x) for x in f[name[6:]][()].ravel()]
            else:
                out[name] = describe(f[name])
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
