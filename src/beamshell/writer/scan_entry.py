"""One scan's entry: written live from its node in Redis, completed atomically at its end.

The scan's own file grows while the scan runs (flushed at least every FLUSH_INTERVAL_S, so
a reader opening it with `locking=False` sees the points so far). When the scan ends, the
file is closed, copied aside, completed there (end positions, final scan_info, default
plot, `end_time` last), and renamed over the live one: a complete entry appears at once,
and a crash at any moment leaves either that or an incomplete file that is rebuilt.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import h5py

from beamshell.data.events import Event
from beamshell.data.keys import short_name
from beamshell.data.node import DataNode
from beamshell.writer import dataset_file, nexus

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5


def scan_destination(info: dict[str, Any]) -> tuple[Path, int] | None:
    """(dataset file, scan number) of a scan that is to be saved, else None."""
    filename = info.get("filename")
    scan_nb = info.get("scan_nb")
    if not info.get("save", True) or not filename or not isinstance(scan_nb, int):
        return None
    return Path(filename), scan_nb


class EntryWriter:
    """Writes the entry of one scan or group node, from its start to its END_SCAN."""

    def __init__(self, node: DataNode):
        self.node = node
        destination = scan_destination(node.info)
        if destination is None:
            raise ValueError(f"scan {node.db_name} is not to be saved")
        self.dataset_file, self.scan_nb = destination
        self.path = dataset_file.scan_file_path(self.dataset_file, self.scan_nb)
        self.entry_name = dataset_file.entry_name(self.scan_nb)
        self._channels: dict[str, h5py.Dataset] = {}  # measurement name -> dataset
        self._by_node: dict[str, h5py.Dataset] = {}  # channel db_name -> dataset
        self._dirty = gevent.event.Event()
        self._plotted = False
        self._scan_links: list[str] = []

    def is_complete(self) -> bool:
        return dataset_file.entry_is_complete(self.path, self.scan_nb)

    def write(self) -> Path:
        """Write the whole entry (blocks until the scan ends); return the scan's file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = self._aside_path()
        aside.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)  # an incomplete entry is rebuilt from the start
        info = self.node.info
        with h5py.File(self.path, "w", locking=False, track_order=True) as handle:
            nexus.root_attributes(handle, str(self.dataset_file), self.entry_name)
            entry = self._create_entry(handle, info)
            handle.flush()
            dataset_file.rebuild(self.dataset_file)
            flusher = gevent.spawn(self._flush_loop, handle)
            try:
                self._follow(entry, info)
                handle.flush()
            finally:
                flusher.kill()
        self._complete(aside)
        dataset_file.rebuild(self.dataset_file)
        return self.path

    def _aside_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.tmp")

    # ---- the live part -----------------------------------------------------------------------
    def _create_entry(self, handle: h5py.File, info: dict[str, Any]) -> h5py.Group:
        entry = handle.create_group(self.entry_name, track_order=True)
        nexus.set_nx_class(entry, "NXentry")
        nexus.write_text(entry, "title", str(info.get("title", "")))
        nexus.write_text(entry, "start_time", nexus.iso_time(info.get("start_timestamp")))
        instrument = entry.create_group("instrument", track_order=True)
        nexus.set_nx_class(instrument, "NXinstrument")
        measurement = entry.create_group("measurement", track_order=True)
        nexus.set_nx_class(measurement, "NXcollection")
        if self.node.type == "scan_group":
            scans = entry.create_group("scans", track_order=True)
            nexus.set_nx_class(scans, "NXcollection")
        nexus.write_positioners(instrument, info, "start")
        nexus.write_scan_info(entry, info)
        return entry

    def _follow(self, entry: h5py.Group, info: dict[str, Any]) -> None:
        npoints = int(info.get("npoints") or 0)
        axes = set(info.get("axes") or [])
        taken: set[str] = set()
        for event, node, data in self.node.walk_events():
            if event is Event.NEW_NODE and node.type == "channel":
                master = short_name(node.fields.get("parent", "")) or "channel"
                name = nexus.unique_name(node.name, master, taken)
                dataset = nexus.create_channel_dataset(
                    entry, name, node.dtype, node.shape, node.unit, node.name in axes, npoints
                )
                self._channels[name] = dataset
                self._by_node[node.db_name] = dataset
            elif event is Event.NEW_DATA and node.type == "channel":
                nexus.append_points(self._by_node[node.db_name], data.first_index, data.data)
                if not self._plotted:
                    nexus.write_default_plot(entry, info, self._channels, final=False)
                    self._plotted = True
                self._dirty.set()
            elif event is Event.NEW_DATA and node.type == "node_ref_channel":
                self._link_scans(entry, data.data)
                self._dirty.set()
            elif event is Event.END_SCAN and node.db_name == self.node.db_name:
                return

    def _link_scans(self, entry: h5py.Group, scans: list[DataNode]) -> None:
        """A group's scans, in order, as links to their entries (wherever they are saved)."""
        group = entry["scans"]
        for scan in scans:
            destination = scan_destination(scan.info) if scan.exists() else None
            if destination is None:
                log.info("group %s: scan %s is not saved, not linked", self.node.db_name, scan)
                continue
            target_file, scan_nb = destination
            target = dataset_file.scan_file_path(target_file, scan_nb)
            name = dataset_file.entry_name(scan_nb)
            if name in group:
                continue
            relative = os.path.relpath(target, self.path.parent)
            group[name] = h5py.ExternalLink(relative, "/" + name)
            self._scan_links.append(name)

    def _flush_loop(self, handle: h5py.File) -> None:
        """Readers see new points within FLUSH_INTERVAL_S, without a flush per batch."""
        while True:
            self._dirty.wait()
            gevent.sleep(FLUSH_INTERVAL_S)
            self._dirty.clear()
            handle.flush()

    # ---- the end -----------------------------------------------------------------------------
    def _complete(self, aside: Path) -> None:
        """Copy aside, add what only the end knows (end_time last), rename over the live file."""
        info = self.node.info
        shutil.copyfile(self.path, aside)
        with h5py.File(aside, "r+", locking=False) as handle:
            nexus.root_attributes(handle, str(self.dataset_file), self.entry_name)
            entry = handle[self.entry_name]
            nexus.write_text(entry, "title", str(info.get("title", "")))
            nexus.write_text(entry, "start_time", nexus.iso_time(info.get("start_timestamp")))
            channels = {
                name: entry["measurement"][name]
                for name in entry["measurement"]
                if isinstance(entry["measurement"].get(name, getlink=True), h5py.HardLink)
            }
            nexus.write_positioners(entry["instrument"], info, "start")
            nexus.write_positioners(entry["instrument"], info, "end")
            nexus.write_scan_info(entry, info)
            nexus.write_default_plot(entry, info, channels, final=True)
            nexus.write_text(entry, "state", str(info.get("state", "")))
            end = info.get("end_timestamp") or time.time()
            nexus.write_text(entry, "end_time", nexus.iso_time(end))  # last: marks completion
        dataset_file.replace_durably(aside, self.path)
