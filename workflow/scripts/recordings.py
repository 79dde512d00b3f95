"""Which recordings the config names, paired as the hdmea CLI pairs them (src/core/recordingPairing.ts,
src/cli/recordingFiles.ts): a recording is NAME.cmcr + NAME-.cmtr in one folder; stems are compared
lower-cased without the `_sorted` / `_spikes` / `_raw` markers and the trailing `-`; the dataset id
(and so the output name) is the .cmtr stem, else the .cmcr stem, without its trailing `-`.

A lone file (no partner in its folder) is still a recording: the CLI decides what it can do with it.
"""
import os
import re

_NAME = re.compile(r"^(.*)\.(cmcr|cmtr)$", re.IGNORECASE)
_MARKERS = ("_sorted", "_spikes", "_raw")


class RecordingError(Exception):
    pass


def parse_name(path):
    """(kind, stem, key) of a recording file name, or None."""
    match = _NAME.match(os.path.basename(path))
    if not match:
        return None
    stem, kind = match.group(1), match.group(2).lower()
    key = stem.lower()
    for marker in _MARKERS:
        key = key.replace(marker, "")
    return kind, stem, key.rstrip("-")


def discover_recordings(paths):
    """{dataset_id: {"cmtr": path or None, "cmcr": path or None, "label": file name}}, sorted by id.

    `paths`: folders (every .cmcr/.cmtr in them) and recording files (a file brings its partner from
    the same folder). Paths are made absolute. Raises RecordingError naming the problem."""
    if not paths:
        raise RecordingError("config `recordings` is empty: give a folder of NAME.cmcr + NAME-.cmtr pairs, or a list")
    files = []
    for path in map(str, paths):
        path = os.path.abspath(os.path.expanduser(path))
        if os.path.isdir(path):
            found = sorted(os.path.join(path, n) for n in os.listdir(path) if parse_name(n) and os.path.isfile(os.path.join(path, n)))
            if not found:
                raise RecordingError(f"{path}: no .cmcr or .cmtr files in this folder")
            files += found
        elif os.path.isfile(path):
            if not parse_name(path):
                raise RecordingError(f"{path}: not a recording file (expected NAME.cmcr, NAME-.cmtr or a folder of them)")
            files.append(path)
            kind, _, key = parse_name(path)
            partner = _find_partner(path, "cmcr" if kind == "cmtr" else "cmtr", key)
            if partner:
                files.append(partner)
        else:
            raise RecordingError(f"{path}: file not found")

    groups = {}
    for path in dict.fromkeys(files):
        kind, _, key = parse_name(path)
        slot = groups.setdefault((os.path.dirname(path), key), {"cmtr": None, "cmcr": None})
        if slot[kind] and slot[kind] != path:
            raise RecordingError(f"{os.path.basename(slot[kind])} and {os.path.basename(path)}: two .{kind} files for one recording; keep one")
        slot[kind] = path

    recordings = {}
    for slot in groups.values():
        named = slot["cmtr"] or slot["cmcr"]
        stem = parse_name(named)[1]
        dataset_id = re.sub(r"-+$", "", stem)
        if dataset_id in recordings:
            other = recordings[dataset_id]["cmtr"] or recordings[dataset_id]["cmcr"]
            raise RecordingError(f"{named} and {other}: both are dataset {dataset_id}; their outputs would collide")
        recordings[dataset_id] = {**slot, "label": os.path.basename(named)}
    return dict(sorted(recordings.items()))


def _find_partner(path, kind, key):
    folder = os.path.dirname(path)
    for name in sorted(os.listdir(folder)):
        parsed = parse_name(name)
        if parsed and parsed[0] == kind and parsed[2] == key:
            return os.path.join(folder, name)
    return None
