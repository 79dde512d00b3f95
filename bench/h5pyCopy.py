"""The h5py baseline: read a session file into memory, then time writing it back with the same
layout and chunking (the write the lab's Python does), and time reading it all.
Run with Debian's /usr/bin/python3 (python3-h5py). Prints JSON."""
import json
import sys
import time

import h5py


def load(group):
    tree = {"attrs": dict(group.attrs), "children": {}}
    for name, node in group.items():
        if isinstance(node, h5py.Group):
            tree["children"][name] = load(node)
        else:
            tree["children"][name] = (node[()], node.chunks, dict(node.attrs), node.dtype)
    return tree


def write(group, tree):
    for k, v in tree["attrs"].items():
        group.attrs[k] = v
    for name, child in tree["children"].items():
        if isinstance(child, dict):
            write(group.create_group(name), child)
        else:
            data, chunks, attrs, dtype = child
            ds = group.create_dataset(name, data=data, chunks=chunks, dtype=dtype)
            for k, v in attrs.items():
                ds.attrs[k] = v


def main(src, dst):
    t = time.perf_counter()
    with h5py.File(src, "r") as f:
        tree = load(f)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    with h5py.File(dst, "w") as f:
        write(f, tree)
    save_s = time.perf_counter() - t
    print(json.dumps({"saveMs": save_s * 1000, "loadMs": load_s * 1000}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
