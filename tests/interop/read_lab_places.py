"""Reads the RF geometry and the direction sections of a session file the way the lab's readers do
(its DSGC step and dataframe builders: fixed paths, `[()]` then float, −5.0 = failed fit) and prints
what it found, with dtypes and shapes, as JSON. Run with Debian's /usr/bin/python3 (python3-h5py).

usage: read_lab_places.py FILE STA_FEATURE BAR_MOVIE
"""
import json
import sys

import h5py

INVALID_CENTER_VALUE = -5.0
DIRECTIONS = [0, 45, 90, 135, 180, 225, 270, 315]


def scalar(ds):
    value = None if ds.dtype.kind in ("S", "O") else float(ds[()])
    # NaN (a failed fit here) has no JSON form: null.
    return {"dtype": ds.dtype.str, "shape": list(ds.shape), "value": value if value == value else None}


def main(path, sta_feature, bar):
    out = {}
    with h5py.File(path, "r") as f:
        for unit in sorted(f["units"].keys()):
            u = {}
            geometry_path = f"units/{unit}/features/{sta_feature}/sta_geometry"
            if geometry_path in f:
                g = f[geometry_path]
                row = float(g["center_row"][()])
                col = float(g["center_col"][()])
                u["center"] = [row, col]
                u["center_valid"] = not (row == INVALID_CENTER_VALUE or col == INVALID_CENTER_VALUE)
                u["center_dtype"] = g["center_row"].dtype.str
                u["sta_time_course"] = {"dtype": g["sta_time_course"].dtype.str, "shape": list(g["sta_time_course"].shape)}
                for fit in ("gaussian_fit", "DoG"):
                    if fit in g:
                        u[fit] = {k: scalar(v) for k, v in g[fit].items() if v.shape == ()}
                        if "reason" in g[fit]:
                            u[fit]["reason"]["value"] = g[fit]["reason"].asstr()[()]
            section_path = f"units/{unit}/spike_times_sectioned/{bar}/direction_section"
            if section_path in f:
                ds = f[section_path]
                u["direction_keys"] = sorted(ds.keys())
                u["attrs"] = {k: v[()].tolist() for k, v in ds["_attrs"].items()}
                u["directions"] = {}
                for deg in DIRECTIONS:
                    d = ds[str(deg)]
                    bounds = d["section_bounds"]
                    trials = d["trials"]
                    u["directions"][str(deg)] = {
                        "bounds_dtype": bounds.dtype.str,
                        "bounds": bounds[:].tolist(),
                        "bounds_samples": d["section_bounds_samples"][:].tolist(),
                        "trial_keys": sorted(trials.keys(), key=int),
                        "trial_dtypes": sorted({trials[k].dtype.str for k in trials}),
                        "trials": {k: trials[k][:].tolist() for k in trials},
                        "trials_samples": {k: d["trials_samples"][k][:].tolist() for k in d["trials_samples"]},
                    }
            out[unit] = u
        out["frame_timestamps"] = f["metadata/frame_timestamps"][:].tolist()
        out["moving_bar_keys"] = sorted(f[f"units/{sorted(f['units'].keys())[0]}/features/moving_bar/data/{bar}"].keys())
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
