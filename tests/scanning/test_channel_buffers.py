"""Large channel buffers live in memory that refuses transparent huge pages (no stalls)."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

from beamshell.scanning import buffers
from beamshell.scanning.channel import AcquisitionChannel

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/smaps")


def mapping_of(array: np.ndarray) -> dict[str, str] | None:
    """The /proc/self/smaps entry (its fields) of the mapping holding `array`'s first byte."""
    address = array.__array_interface__["data"][0]
    entry: dict[str, str] | None = None
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                start, end = (int(part, 16) for part in head.split("-"))
                if entry is not None:
                    return entry
                if start <= address < end:
                    entry = {"range": head}
            elif entry is not None and ":" in line:
                key, value = line.split(":", 1)
                entry[key] = value.strip()
    return entry


@linux_only
def test_a_large_1d_channel_never_asks_for_huge_pages():
    channel = AcquisitionChannel("mca", np.float64, (1024,), npoints=2000)  # 16 MiB
    mapping = mapping_of(channel._buffer)
    assert mapping is not None
    assert "nh" in mapping["VmFlags"].split()  # MADV_NOHUGEPAGE
    assert "hg" not in mapping["VmFlags"].split()  # not MADV_HUGEPAGE, as numpy would ask


def test_small_buffers_stay_ordinary_numpy_arrays():
    small = buffers.empty((1000,), np.float64)
    assert small.base is None  # numpy's own memory, not a view of a memory map
    large = buffers.empty((buffers.LARGE_BYTES // 8,), np.float64)
    assert large.base is not None and large.flags.writeable


def test_points_survive_growth_into_a_large_buffer():
    channel = AcquisitionChannel("spectrum", np.float64, (4096,), npoints=2)
    spectra = [np.full(4096, float(i)) for i in range(300)]  # 300 x 32 KiB: grows past 4 MiB
    for spectrum in spectra:
        channel.put(spectrum)
    assert channel._buffer.nbytes >= buffers.LARGE_BYTES
    np.testing.assert_array_equal(channel.data, np.stack(spectra))


@linux_only
def test_the_memory_map_goes_with_the_last_array_using_it():
    def mapped(bounds: str) -> bool:
        with open("/proc/self/maps") as maps:
            return any(line.startswith(bounds + " ") for line in maps)

    channel = AcquisitionChannel("mca", np.float64, (1024,), npoints=4000)
    bounds = mapping_of(channel._buffer)["range"]
    view = channel.data  # a view keeps the memory alive after the channel is gone
    del channel
    gc.collect()
    assert mapped(bounds) and view.shape == (0, 1024)
    del view
    gc.collect()
    assert not mapped(bounds)
