"""The dataset file: one NXentry link per scan, pointing into the scan's own file.

Each scan is written to its own file, `<dataset dir>/scans/<dataset>_<nb>.h5`, so that a
process killed while writing can only ever damage the scan it was writing, which is then
rebuilt from Redis. The dataset file named by SCAN_SAVING holds nothing but external links
`/<nb>.1 -> scans/<dataset>_<nb>.h5:/<nb>.1` and is replaced as a whole (written aside,
then renamed over), so it is always a complete, openable file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import h5py

from beamshell.writer import nexus

SCANS_DIR = "scans"


def entry_name(scan_nb: int) -> str:
    return f"{scan_nb}.1"


def scan_file_path(dataset_file: Path, scan_nb: int) -> Path:
    """Where one scan of a dataset file is written."""
    dataset_file = Path(dataset_file)
    return dataset_file.parent / SCANS_DIR / f"{dataset_file.stem}_{scan_nb:04d}.h5"


def _scan_files(dataset_file: Path) -> list[tuple[int, Path]]:
    pattern = re.compile(rf"^{re.escape(dataset_file.stem)}_(\d+)\.h5$")
    folder = dataset_file.parent / SCANS_DIR
    found = []
    for path in folder.iterdir() if folder.is_dir() else ():
        match = pattern.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def rebuild(dataset_file: Path) -> None:
    """Write the dataset file anew with a link to every scan file beside it (atomically)."""
    dataset_file = Path(dataset_file)
    scans = _scan_files(dataset_file)
    aside = dataset_file.with_name(f".{dataset_file.name}.tmp")
    latest = entry_name(scans[-1][0]) if scans else None
    with h5py.File(aside, "w", locking=False, track_order=True) as out:
        nexus.root_attributes(out, str(dataset_file), latest)
        for scan_nb, path in scans:
            relative = os.path.relpath(path, dataset_file.parent)
            name = entry_name(scan_nb)
            out[name] = h5py.ExternalLink(relative, "/" + name)
    replace_durably(aside, dataset_file)


def replace_durably(source: Path, target: Path) -> None:
    """Rename `source` over `target` after both its data and the rename reach the disk."""
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def entry_is_complete(path: Path, scan_nb: int) -> bool:
    """True when the scan's own file opens and its entry has `end_time` (written last)."""
    try:
        with h5py.File(path, "r", locking=False) as handle:
            entry = handle.get(entry_name(scan_nb))
            return entry is not None and "end_time" in entry
    except (OSError, KeyError, RuntimeError):
        return False
