#!/usr/bin/env python3
"""An external step for `hdmea process`: adds a group to a session file with h5py.

    hdmea process REC-.cmtr --out REC.h5 --steps all,spike_count \\
        --exec spike_count="python3 examples/add_group.py {file}"

It stands for the lab's own file-based steps (AP tracking, the Google Sheet metadata, LNL fits): a
program that opens the session file, reads what earlier steps wrote and adds its results. hdmea saves
the session first, runs this, and reads the file back, so the results are in the session for the
steps after it and in the final file. What it adds, NAME being --name (default: spike_count):

    units/<unit>/features/NAME/data          int64 ()  the unit's number of spikes
    metadata/NAME/unit_ids                   strings   the units, in file order
    metadata/NAME/spike_counts               int64 [n] their spike counts
    metadata/NAME/dataset_id                 string    the file's dataset id (from {dataset_id} or the file)

Write datasets under metadata/, stimulus/ or units/<unit>/: the session has no place for groups at
the top of the file or for attributes on datasets (hdmea warns about those; they are lost when the
session is saved again). Re-running replaces the group. Exit status: 0 done, 1 bad file, 2 bad arguments.
"""
import argparse
import sys

import h5py
import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="the session file ({file})")
    parser.add_argument("--name", default="spike_count", help="the group's name (default: spike_count)")
    parser.add_argument("--dataset-id", help="expected dataset id ({dataset_id}); refused if the file holds another")
    args = parser.parse_args()

    try:
        f = h5py.File(args.file, "r+")
    except OSError as e:
        print(f"{args.file}: cannot open as HDF5 ({e})", file=sys.stderr)
        return 1
    with f:
        dataset_id = f.attrs.get("dataset_id")
        dataset_id = dataset_id.decode() if isinstance(dataset_id, bytes) else str(dataset_id)
        if args.dataset_id is not None and args.dataset_id != dataset_id:
            print(f"{args.file}: holds dataset {dataset_id}, not {args.dataset_id}", file=sys.stderr)
            return 1
        if "units" not in f:
            print(f"{args.file}: no units group (run load_recording first)", file=sys.stderr)
            return 1

        ids, counts = [], []
        for unit_id, unit in f["units"].items():
            n = int(unit["spike_times"].shape[0]) if "spike_times" in unit else 0
            features = unit.require_group("features")
            if args.name in features:
                del features[args.name]
            features.create_group(args.name).create_dataset("data", data=np.int64(n))
            ids.append(unit_id)
            counts.append(n)

        metadata = f.require_group("metadata")
        if args.name in metadata:
            del metadata[args.name]
        group = metadata.create_group(args.name)
        group.create_dataset("unit_ids", data=np.array(ids, dtype=h5py.string_dtype()))
        group.create_dataset("spike_counts", data=np.array(counts, dtype=np.int64))
        group.create_dataset("dataset_id", data=dataset_id, dtype=h5py.string_dtype())
    print(f"{args.name}: {len(ids)} units, {sum(counts)} spikes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
