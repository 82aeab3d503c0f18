"""The NeXus layout of one scan entry: groups, growing datasets, positioners, default plots.

Everything here is a pure function of what Redis holds (the scan's info and channels), so
an entry rebuilt after a crash equals the one written live.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from beamshell import __version__

CREATOR = "beamshell"
PLOT_GROUP = "plotselect"
TIMER_CHANNELS = ("elapsed_time", "epoch")
SCALAR_CHUNK_MAX = 16384  # points per chunk of a scalar channel (128 KiB of float64)
SPECTRUM_CHUNK_BYTES = 256 * 1024
UNKNOWN_LENGTH_CHUNK = 1024
_TEXT = h5py.string_dtype()


def iso_time(timestamp: float | None) -> str:
    """ISO 8601 with the local zone, e.g. 2026-11-29T18:03:30.123456+00:00."""
    moment = datetime.datetime.fromtimestamp(timestamp or 0.0).astimezone()
    return moment.isoformat()


def set_nx_class(group: h5py.Group, nx_class: str) -> None:
    group.attrs["NX_class"] = nx_class


def write_text(group: h5py.Group, name: str, text: str) -> None:
    if name in group:
        del group[name]
    group.create_dataset(name, data=text, dtype=_TEXT)


def root_attributes(file: h5py.File, file_name: str, default_entry: str | None) -> None:
    """NXroot attributes of a beamshell file (the time of writing is the only clock in it)."""
    set_nx_class(file, "NXroot")
    file.attrs["creator"] = CREATOR
    file.attrs["creator_version"] = __version__
    file.attrs["file_name"] = file_name
    file.attrs["file_time"] = iso_time(datetime.datetime.now().timestamp())
    if default_entry is not None:
        file.attrs["default"] = default_entry


def chunk_shape(npoints: int, shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Chunks sized for the expected length: small scans stay small, long ones stream well."""
    if not shape:
        length = npoints if npoints > 0 else UNKNOWN_LENGTH_CHUNK
        return (max(1, min(length, SCALAR_CHUNK_MAX)),)
    point_bytes = max(1, int(np.prod(shape)) * itemsize)
    rows = max(1, SPECTRUM_CHUNK_BYTES // point_bytes)
    if npoints > 0:
        rows = min(rows, npoints)
    return (rows, *shape)


def write_value(group: h5py.Group, name: str, value: Any) -> None:
    """One scan_info field as a dataset (a mapping as a subgroup); text when nothing else fits."""
    if value is None:
        return
    if isinstance(value, Mapping):
        sub = group.create_group(name)
        set_nx_class(sub, "NXcollection")
        for key, item in value.items():
            write_value(sub, str(key), item)
        return
    if isinstance(value, str):
        group.create_dataset(name, data=value, dtype=_TEXT)
        return
    if isinstance(value, bool | int | float):
        group.create_dataset(name, data=value)
        return
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, str) for item in value):
            group.create_dataset(name, data=list(value), dtype=_TEXT)
            return
        try:
            array = np.asarray(value)
        except ValueError:
            array = None
        if array is not None and array.dtype.kind in "biuf" and array.size:
            group.create_dataset(name, data=array)
            return
    group.create_dataset(name, data=json.dumps(value), dtype=_TEXT)


def write_scan_info(entry: h5py.Group, info: Mapping[str, Any]) -> None:
    """The whole scan_info under `entry/scan_info` (replaced when written again)."""
    if "scan_info" in entry:
        del entry["scan_info"]
    group = entry.create_group("scan_info", track_order=True)
    set_nx_class(group, "NXcollection")
    for key in sorted(info):
        write_value(group, key, info[key])


def write_positioners(instrument: h5py.Group, info: Mapping[str, Any], when: str) -> None:
    """`positioners_<when>` and `positioners_dial_<when>`: every axis of the session."""
    positioners = info.get("positioners") or {}
    units = positioners.get("positioners_units") or {}
    for prefix in ("positioners", "positioners_dial"):
        name = f"{prefix}_{when}"
        values = positioners.get(name)
        if values is None:
            continue
        if name in instrument:
            del instrument[name]
        group = instrument.create_group(name, track_order=True)
        set_nx_class(group, "NXcollection")
        for axis in sorted(values):
            value = values[axis]
            dataset = group.create_dataset(axis, data=np.nan if value is None else float(value))
            if units.get(axis):
                dataset.attrs["units"] = units[axis]


def unique_name(name: str, master: str, taken: set[str]) -> str:
    """A channel's name in `measurement/`; a second channel of that name gets its master's."""
    chosen = name if name not in taken else f"{master}_{name}"
    taken.add(chosen)
    return chosen


def create_channel_dataset(
    entry: h5py.Group,
    name: str,
    dtype: np.dtype,
    shape: tuple[int, ...],
    unit: str | None,
    positioner: bool,
    npoints: int,
) -> h5py.Dataset:
    """`instrument/<name>/data` (or `value` for an axis), growing, linked as `measurement/<name>`."""
    instrument = entry["instrument"]
    device = instrument.create_group(name)
    set_nx_class(device, "NXpositioner" if positioner else "NXdetector")
    dataset = device.create_dataset(
        "value" if positioner else "data",
        shape=(0, *shape),
        maxshape=(None, *shape),
        dtype=dtype,
        chunks=chunk_shape(npoints, shape, dtype.itemsize),
    )
    if unit:
        dataset.attrs["units"] = unit
    if shape:
        dataset.attrs["interpretation"] = "spectrum"
    entry["measurement"][name] = dataset  # a hard link: one dataset, two names
    return dataset


def append_points(dataset: h5py.Dataset, first_index: int, values: np.ndarray) -> None:
    end = first_index + len(values)
    if dataset.shape[0] < end:
        dataset.resize(end, axis=0)
    dataset[first_index:end] = values


def _signal_names(info: Mapping[str, Any], scalars: list[str], axes: list[str]) -> list[str]:
    """The default plot's counters: plotselect first, then the scan's counters in order."""
    candidates = [name for name in scalars if name not in axes and name not in TIMER_CHANNELS]
    selected = [name for name in info.get("plotselect") or [] if name in candidates]
    counters = [name for name in info.get("counters") or [] if name in candidates]
    ordered = selected + [n for n in counters if n not in selected]
    return ordered + [n for n in candidates if n not in ordered]


def write_default_plot(
    entry: h5py.Group, info: Mapping[str, Any], channels: Mapping[str, h5py.Dataset], final: bool
) -> None:
    """The NXdata silx opens with no click, plus one spectrum NXdata per 1-D channel.

    Step scans plot the selected counter against the first scanned axis, loopscan and
    timescan against elapsed_time; a mesh is a scatter while it runs and an image (rows in
    order, back-and-forth lines turned round) once complete.
    """
    scalars = [name for name, ds in channels.items() if ds.ndim == 1]
    axes = [name for name in info.get("axes") or [] if name in channels]
    signals = _signal_names(info, scalars, axes)
    for name in [n for n in entry if entry[n].attrs.get("NX_class") == "NXdata"]:
        del entry[name]
    default = None
    if signals:
        mesh = _mesh_shape(info, channels, axes)
        if mesh is not None and final and mesh[0] * mesh[1] == len(channels[signals[0]]):
            _image_plot(entry, info, channels, signals, axes, mesh)
        else:
            _curve_plot(entry, channels, signals, axes, info, scatter=mesh is not None)
        default = PLOT_GROUP
    for name, dataset in channels.items():
        if dataset.ndim == 2:
            group = entry.create_group(f"{name}_spectrum")
            set_nx_class(group, "NXdata")
            group["data"] = dataset
            group.attrs["signal"] = "data"
            group.attrs["interpretation"] = "spectrum"
            default = default or group.name.rsplit("/", 1)[-1]
    if default is not None:
        entry.attrs["default"] = default


def _mesh_shape(
    info: Mapping[str, Any], channels: Mapping[str, h5py.Dataset], axes: list[str]
) -> tuple[int, int] | None:
    shape = info.get("shape")
    if not isinstance(shape, list | tuple) or len(shape) != 2 or len(axes) < 2:
        return None
    return int(shape[0]), int(shape[1])


def _curve_plot(
    entry: h5py.Group,
    channels: Mapping[str, h5py.Dataset],
    signals: list[str],
    axes: list[str],
    info: Mapping[str, Any],
    scatter: bool,
) -> None:
    group = entry.create_group(PLOT_GROUP)
    set_nx_class(group, "NXdata")
    for name in signals:
        group[name] = channels[name]
    group.attrs["signal"] = signals[0]
    if len(signals) > 1:
        group.attrs["auxiliary_signals"] = signals[1:]
    if scatter:
        x_axes = axes[:2]
    elif axes:
        x_axes = axes[:1]
    elif "elapsed_time" in channels:
        x_axes = ["elapsed_time"]
    else:
        x_axes = []
    for axis in x_axes:
        group[axis] = channels[axis]
    if x_axes:
        group.attrs["axes"] = x_axes


def _image_plot(
    entry: h5py.Group,
    info: Mapping[str, Any],
    channels: Mapping[str, h5py.Dataset],
    signals: list[str],
    axes: list[str],
    mesh: tuple[int, int],
) -> None:
    rows, columns = mesh
    back_and_forth = bool(info.get("backnforth"))

    def grid(values: np.ndarray) -> np.ndarray:
        image = np.array(values[: rows * columns]).reshape(rows, columns)
        if back_and_forth:
            image[1::2] = image[1::2, ::-1]  # every other line was swept backwards
        return image

    fast, slow = axes[0], axes[1]
    group = entry.create_group(PLOT_GROUP)
    set_nx_class(group, "NXdata")
    for name in signals:
        group.create_dataset(name, data=grid(channels[name][()]))
        if "units" in channels[name].attrs:
            group[name].attrs["units"] = channels[name].attrs["units"]
    group.attrs["signal"] = signals[0]
    if len(signals) > 1:
        group.attrs["auxiliary_signals"] = signals[1:]
    group.attrs["interpretation"] = "image"
    group.create_dataset(fast, data=grid(channels[fast][()])[0])
    group.create_dataset(slow, data=grid(channels[slow][()])[:, 0])
    group.attrs["axes"] = [slow, fast]
