"""Compares two session files as h5py (the lab's reader) sees them: every group, dataset (dtype,
shape, bytes) and attribute, by path.

    compare_sessions.py A.h5 B.h5

Prints JSON: {"datasets": n, "attributes": n, "differences": [path, ...], "normalised": {path: why},
"close": {path: largest relative difference}}.
A file made in the page and one made by the same command in a shell legitimately differ in wall-clock
times and in the folders the recording was read from (the page sees only file names, its loader a
mount path, the CLI absolute paths). Those values are compared after normalising; every path that
differed only by that is listed in "normalised" with the reason, so the caller can check the list.

Floating-point datasets that are not bit-identical but agree to RTOL (relative) / ATOL (absolute),
same dtype, shape and NaN positions, are listed in "close": Debian's Chromium and Node compute
Math.sin, cos, exp, log, atan2 and pow differently in the last bit (a few % of arguments), so
features built on them (chirp spectra, receptive-field fits, preferred directions) differ by an
ulp or, through an iterative fit, a little more.
"""
import json
import os
import sys

import h5py
import numpy as np

RTOL, ATOL = 1e-8, 1e-12
TIME_ATTRS = {"created_at", "saved_at", "stage1_timestamp"}
# Step records whose parameters name where the recording was read from.
PATH_PARAMS = {"load_recording": ("cmcr_path", "cmtr_path"), "add_cmtr_unit_info": ("source",), "add_sys_meta_info": ("cmcr", "cmtr")}


def text(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def log_entries(items, drop):
    out = []
    for item in items:
        entry = json.loads(item)
        for key in drop:
            entry.pop(key, None)
        params = entry.get("params") or {}
        for key in PATH_PARAMS.get(entry.get("name"), ()):
            if isinstance(params.get(key), str):
                params[key] = os.path.basename(params[key])
        out.append(entry)
    return json.dumps(out, sort_keys=True)


def raw(v):
    """A value to compare exactly: strings as text, numbers as dtype, shape and bytes (NaN-safe)."""
    if isinstance(v, np.ndarray) and v.dtype.kind in "SOU":
        return ("strings", v.dtype.kind, v.shape, tuple(text(x) for x in v.ravel()))
    if isinstance(v, (bytes, str)):
        return ("str", text(v))
    a = np.asarray(v)
    return (str(a.dtype), a.shape, a.tobytes())


def normalised(path, v):
    """(value to compare, why it was normalised or None)."""
    name = path.rsplit("/", 1)[-1]
    attr = path.split("@", 1)[1] if "@" in path else None
    if attr in TIME_ATTRS or (attr is None and name == "extracted_at"):
        return "<time>", "wall-clock time"
    if path in ("source_files@cmcr_path", "source_files@cmtr_path"):
        return os.path.basename(text(v)), "folder of the recording file"
    if attr is None and name in ("step_log", "warning_log"):
        items = [text(x) for x in np.asarray(v).ravel()]
        drop = ["completedAt"] if name == "step_log" else ["at"]
        return log_entries(items, drop), "times of the entries; folder of the recording in the load steps' parameters"
    return raw(v), None


def close(x, y):
    """Largest relative difference when x and y are float arrays equal to RTOL / ATOL, else None."""
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        x, y = np.asarray(x), np.asarray(y)
    if x.dtype != y.dtype or x.shape != y.shape or x.dtype.kind != "f":
        return None
    if not np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True):
        return None
    both = ~(np.isnan(x) | np.isnan(y))
    diff = np.abs(x[both].astype(float) - y[both].astype(float))
    scale = np.maximum(np.abs(x[both].astype(float)), ATOL)
    return float(np.max(diff / scale)) if diff.size else 0.0


def dump(path):
    f = h5py.File(path, "r")
    out = {}

    def visit(name, obj):
        for key, value in obj.attrs.items():
            out[f"{name}@{key}"] = value
        if isinstance(obj, h5py.Dataset):
            out[name] = obj[()]
        else:
            out[name + "/"] = "group"

    visit("", f)
    f.visititems(visit)
    return out


def main():
    a, b = dump(sys.argv[1]), dump(sys.argv[2])
    differences, why_normalised, near = [], {}, {}
    for path in sorted(set(a) | set(b)):
        if path not in a or path not in b:
            differences.append(path)
            continue
        (va, why), (vb, _) = normalised(path, a[path]), normalised(path, b[path])
        if va != vb:
            rel = close(a[path], b[path])
            if rel is None:
                differences.append(path)
            else:
                near[path] = rel
        elif why and raw(a[path]) != raw(b[path]):
            why_normalised[path] = why
    print(json.dumps({
        "datasets": sum(1 for p in a if "@" not in p and not p.endswith("/")),
        "attributes": sum(1 for p in a if "@" in p),
        "differences": differences,
        "normalised": why_normalised,
        "close": near,
    }))


if __name__ == "__main__":
    main()
