"""Rewrites an HDF5 file in the oldest format (libver='earliest'): version-1 object headers with no
checksums and symbol-table groups, as HDF5 1.8-era writers such as MCS's produce. Damage to those
headers reaches the readers instead of failing a checksum, so the fuzz test mutates both formats.

Usage: /usr/bin/python3 to_earliest.py SRC DST
"""
import sys

import h5py


def copy_attrs(src, dst):
    for name, value in src.attrs.items():
        dst.attrs.create(name, value, dtype=src.attrs.get_id(name).dtype)


def copy_group(src, dst):
    copy_attrs(src, dst)
    for name in src:
        link = src.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            dst[name] = h5py.ExternalLink(link.filename, link.path)
        elif isinstance(link, h5py.SoftLink):
            dst[name] = h5py.SoftLink(link.path)
        else:
            node = src[name]
            if isinstance(node, h5py.Group):
                copy_group(node, dst.create_group(name))
            else:
                # Recreated, not copied: H5Ocopy keeps the source's (version-2) object header.
                ds = dst.create_dataset(
                    name,
                    data=node[()],
                    dtype=node.dtype,
                    chunks=node.chunks,
                    maxshape=node.maxshape if node.chunks else None,
                    compression=node.compression,
                    compression_opts=node.compression_opts,
                )
                copy_attrs(node, ds)


with h5py.File(sys.argv[1], "r") as src, h5py.File(sys.argv[2], "w", libver="earliest") as dst:
    copy_group(src, dst)
