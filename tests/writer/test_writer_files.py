"""Every kind of scan saved by a real writer process: the file equals what Redis holds."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from silx.io.nxdata import get_default

from beamshell.data.node import get_node


def channel_nodes(scan_node):
    """Channel nodes of a scan by their name in measurement/ (the scan's own channels)."""
    found = {}
    for node in scan_node.walk(include_filter="channel", wait=False):
        found[node.name] = node
    return found


def open_entry(event):
    handle = h5py.File(event["filename"], "r", locking=False)
    return handle, handle[event["entry"]]


def check_equals_redis(scan, event):
    """Values, dtypes, shapes, units, title, positions: the file says what Redis says."""
    node = scan.node
    info = node.info
    handle, entry = open_entry(event)
    with handle:
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry["title"][()].decode() == info["title"]
        assert entry["end_time"][()].decode().startswith(info["end_time"])
        assert entry["start_time"][()].decode().startswith(info["start_time"])
        assert entry["state"][()].decode() == info["state"] == "DONE"
        for name, channel in channel_nodes(node).items():
            dataset = entry["measurement"][name]
            expected = channel.get(0, -1)
            assert dataset.dtype == expected.dtype, name
            assert dataset.shape == expected.shape, name
            np.testing.assert_array_equal(dataset[()], expected, err_msg=name)
            if channel.unit:
                assert dataset.attrs["units"] == channel.unit
            group = entry["instrument"][name]
            assert dataset == group["value" if name in info["axes"] else "data"]  # one dataset
            wanted = "NXpositioner" if name in info["axes"] else "NXdetector"
            assert group.attrs["NX_class"] == wanted
        positioners = info["positioners"]
        for when in ("start", "end"):
            for prefix in ("positioners", "positioners_dial"):
                group = entry["instrument"][f"{prefix}_{when}"]
                assert {k: group[k][()] for k in group} == positioners[f"{prefix}_{when}"]
        assert entry["scan_info"]["scan_nb"][()] == info["scan_nb"]
        assert entry["scan_info"]["title"][()].decode() == info["title"]
    return info


def default_plot(event):
    handle, entry = open_entry(event)
    with handle:
        plot = get_default(entry)
        assert plot is not None and plot.is_valid, "silx finds no default plot"
        names = [name.split(" ")[0] for name in plot.axes_names if name]
        return plot.signal_name.split(" ")[0], names, plot.interpretation, plot.signal.shape


@pytest.mark.parametrize(
    ("command", "signal", "axes"),
    [
        ("loopscan(4, 0.01, diode, diode2, mca)", "diode", ["elapsed_time"]),
        ("timescan(0.01, gauss, npoints=3)", "gauss", ["elapsed_time"]),
        ("ascan(m1, 0, 1, 5, 0.01, gauss, diode, stats)", "gauss", ["m1"]),
        ("dscan(m1, -0.5, 0.5, 4, 0.01, diode)", "diode", ["m1"]),
        ("a2scan(m1, 0, 1, m2, 1, 0, 3, 0.01, gauss)", "gauss", ["m1"]),
        ("d2scan(m1, 0, 1, m3, 0, 2, 3, 0.01, diode)", "diode", ["m1"]),
        ("lookupscan([(m1, [0, 0.5, 2]), (m2, [1, 2, 3])], 0.01, gauss)", "gauss", ["m1"]),
        ("pointscan(m3, [3, 1, 2], 0.01, diode2)", "diode2", ["m3"]),
        ("amesh(m1, 0, 1, 2, m2, 0, 1, 1, 0.01, gauss)", "gauss", ["m2", "m1"]),
        ("dmesh(m1, 0, 1, 2, m2, 0, 1, 1, 0.01, gauss, backnforth=True)", "gauss", ["m2", "m1"]),
        ("ct(0.01, diode, save=True)", "diode", ["elapsed_time"]),
    ],
)
def test_each_standard_scan_is_saved_as_in_redis(ns, writer, writer_events, command, signal, axes):
    ns["m1"].move(0.25)
    scan = eval(command, ns)
    event = writer_events.saved(scan)
    info = check_equals_redis(scan, event)
    assert event["filename"] == info["filename"] == ns["SCAN_SAVING"].filename
    assert event["entry"] == f"{info['scan_nb']}.1"
    found_signal, found_axes, interpretation, shape = default_plot(event)
    assert (found_signal, found_axes) == (signal, axes)
    if "mesh" in command:
        assert interpretation == "image" and shape == (2, 3)
    with h5py.File(event["filename"], "r", locking=False) as handle:
        assert handle.attrs["default"] == event["entry"]  # the latest entry
        assert handle.attrs["NX_class"] == "NXroot" and handle.attrs["creator"] == "beamshell"
        # silx opens it with no click (and labels the curve with its unit)
        assert get_default(handle).signal_name.split(" ")[0] == signal


def test_mesh_back_and_forth_lines_are_put_in_order(ns, writer, writer_events):
    scan = ns["amesh"](ns["m1"], 0, 1, 2, ns["m2"], 0, 1, 1, 0.01, ns["gauss"], backnforth=True)
    event = writer_events.saved(scan)
    raw = scan.get_data()
    handle, entry = open_entry(event)
    with handle:
        image = entry["plotselect"]["gauss"][()]
        np.testing.assert_array_equal(image[0], raw["gauss"][:3])
        np.testing.assert_array_equal(image[1], raw["gauss"][3:][::-1])
        np.testing.assert_allclose(entry["plotselect"]["m1"][()], [0, 0.5, 1], atol=1e-3)
        np.testing.assert_allclose(entry["plotselect"]["m2"][()], [0, 1], atol=1e-3)


def test_spectra_and_stats_channels(ns, writer, writer_events):
    scan = ns["loopscan"](3, 0.01, ns["mca"], ns["stats"])
    event = writer_events.saved(scan)
    handle, entry = open_entry(event)
    with handle:
        spectra = entry["measurement"]["mca"]
        assert spectra.shape == (3, 8)
        np.testing.assert_array_equal(spectra[()], scan.get_data()["mca"])
        spectrum_plot = entry["mca_spectrum"]
        assert spectrum_plot.attrs["interpretation"] == "spectrum"
        assert get_default(entry).signal_name.split(" ")[0] == "stats"
        for suffix in ("std", "min", "max"):
            np.testing.assert_array_equal(
                entry["measurement"][f"stats_{suffix}"][()], scan.get_data()[f"stats_{suffix}"]
            )


def test_plotselect_chooses_the_default_signal(ns, writer, writer_events):
    ns["plotselect"](ns["diode2"])
    scan = ns["loopscan"](3, 0.01, ns["diode"], ns["diode2"])
    assert scan.scan_info["plotselect"] == ["diode2"]
    event = writer_events.saved(scan)
    handle, entry = open_entry(event)
    with handle:
        plot = get_default(entry)
        assert plot.signal_name == "diode2"
        assert [n.split(" ")[0] for n in plot.auxiliary_signals_names] == ["diode"]


def test_group_and_sequence_with_custom_channels(ns, writer, writer_events, redis_client):
    exec(
        "from beamshell.scanning.chain import AcquisitionChannel\n"
        "s1 = loopscan(3, 0.01, diode)\n"
        "s2 = loopscan(2, 0.01, diode)\n"
        "group = Group(s1, s2, title='two loops')\n"
        "seq = Sequence(title='with sums')\n"
        "seq.add_custom_channel(AcquisitionChannel('sum', float, ()))\n"
        "with seq.sequence_context() as scan_seq:\n"
        "    s3 = loopscan(4, 0.01, diode, run=False)\n"
        "    scan_seq.add_and_run(s3)\n"
        "    scan_seq.add(s1)\n"
        "    seq.custom_channels['sum'].emit(s3.get_data()[diode] * 2)\n",
        ns,
    )
    for scan in ("s1", "s2", "s3"):
        writer_events.saved(ns[scan])
    group_event = writer_events.saved(ns["group"])
    seq_event = writer_events.saved(ns["seq"])
    handle, entry = open_entry(group_event)
    with handle:
        assert entry["title"][()].decode() == "two loops"
        assert list(entry["scans"]) == [
            f"{ns['s1'].scan_number}.1",
            f"{ns['s2'].scan_number}.1",
        ]
        linked = entry["scans"][f"{ns['s2'].scan_number}.1"]
        np.testing.assert_array_equal(
            linked["measurement"]["diode"][()], ns["s2"].get_data()["diode"]
        )
    handle, entry = open_entry(seq_event)
    with handle:
        assert entry["title"][()].decode() == "with sums"
        assert list(entry["scans"]) == [f"{ns['s3'].scan_number}.1", f"{ns['s1'].scan_number}.1"]
        np.testing.assert_array_equal(
            entry["measurement"]["sum"][()], ns["s3"].get_data()["diode"] * 2
        )
        remote = get_node(ns["seq"].node.db_name + ":GroupingMaster:sum", connection=redis_client)
        np.testing.assert_array_equal(entry["measurement"]["sum"][()], remote.get(0, -1))


def test_scans_not_saved(ns, writer, writer_events, base_path, capsys):
    kept = ns["loopscan"](2, 0.01, ns["diode"], save=False)
    ns["SCAN_SAVING"].writer = "null"
    also_kept = ns["loopscan"](2, 0.01, ns["diode"])
    ns["SCAN_SAVING"].writer = "hdf5"
    saved = ns["loopscan"](2, 0.01, ns["diode"])
    writer_events.saved(saved)
    out = capsys.readouterr().out
    assert "Not saved (save=False)" in out and "Not saved (writer is null)" in out
    for scan in (kept, also_kept):
        assert scan.scan_info["filename"] is None and not scan.scan_info["save"]
        assert f" {scan.scan_number} " in out
    files = sorted(p.name for p in base_path.rglob("*.h5"))
    assert files == ["sample_0001.h5", f"sample_0001_{saved.scan_number:04d}.h5"]


def test_newsample_and_newdataset_move_the_next_scans_file(ns, writer, writer_events, capsys):
    saving = ns["SCAN_SAVING"]
    files = []
    for change in (None, lambda: ns["newsample"]("quartz"), lambda: ns["newdataset"]()):
        if change is not None:
            change()
        expected = saving.filename
        scan = ns["loopscan"](2, 0.01, ns["diode"])
        out = capsys.readouterr().out
        event = writer_events.saved(scan)
        # Header, footer, SCAN_SAVING and the file written agree.
        assert f" {expected} {ns['SCAN_SAVING'].session} user = " in out
        assert f"Saved in {expected}::/{scan.scan_number}.1" in out
        assert event["filename"] == expected == scan.scan_info["filename"]
        with h5py.File(expected, "r", locking=False) as handle:
            assert list(handle) == [f"{scan.scan_number}.1"]
        files.append(expected)
    assert files[1].endswith("/quartz/quartz_0001/quartz_0001.h5")
    assert files[2].endswith("/quartz/quartz_0002/quartz_0002.h5")
    assert len(set(files)) == 3
