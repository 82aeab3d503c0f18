"""What the plot server holds and sends: bounded buffers, and only what a page lacks."""

from __future__ import annotations

import base64

import gevent
import numpy as np
import pytest

from beamshell.data.publish import DataPublisher
from beamshell.plotting import messages, server
from beamshell.plotting.follower import SessionFollower
from beamshell.plotting.messages import PageCursor, pack, pack_bytes, sse
from beamshell.plotting.model import (
    HISTORY_SIZE,
    WATERFALL_COLUMNS,
    WATERFALL_ROWS,
    ScanModel,
    SeriesBuffer,
    SessionModel,
    SpectrumBuffer,
)


def test_series_grow_in_order_and_never_duplicate():
    series = SeriesBuffer(4)
    series.extend(0, np.arange(3))
    series.extend(3, np.arange(3, 10))
    series.extend(8, np.arange(8, 12))  # re-read from point 8: 8 and 9 are not added twice
    assert series.values.tolist() == list(range(12))


def test_a_waterfall_stays_bounded_and_holds_the_means():
    size = 2 * WATERFALL_COLUMNS + 1  # columns are binned by 3, the last one partly
    spectra = np.random.default_rng(1).random((3 * WATERFALL_ROWS + 5, size))
    buffer = SpectrumBuffer(size)
    for start in range(0, len(spectra), 37):
        buffer.extend(start, spectra[start : start + 37])
    assert buffer.count == len(spectra) and buffer.bin == 4
    rows = buffer.waterfall()
    assert rows.shape == (-(-len(spectra) // 4), -(-size // 3)) and rows.shape[0] <= WATERFALL_ROWS
    padded = np.pad(spectra, ((0, 0), (0, 3 * rows.shape[1] - size)), constant_values=np.nan)
    columns = np.nanmean(padded.reshape(len(spectra), rows.shape[1], 3), axis=2)
    expected = [columns[r * 4 : r * 4 + 4].mean(axis=0) for r in range(rows.shape[0])]
    np.testing.assert_allclose(rows, np.array(expected), rtol=1e-6)
    assert np.array_equal(buffer.last, spectra[-1])


def test_the_history_is_bounded_and_a_late_page_gets_it_whole():
    model = SessionModel("demo")
    for number in range(HISTORY_SIZE + 50):
        model.record(ScanModel(f"demo:tmp:scans:{number}_ct", "scan", {"scan_nb": number}))
    assert len(model.history) == HISTORY_SIZE
    assert next(iter(model.history.values()))["nb"] == 50
    seq, changes = model.history_since(model.history_seq - 2)
    assert [s["nb"] for s in changes] == [HISTORY_SIZE + 48, HISTORY_SIZE + 49]
    assert model.history_since(0) == (seq, None)  # too far behind: the whole list


def decode(chunk: dict) -> list[float]:
    return np.frombuffer(base64.b64decode(chunk["values"]), "<f8").tolist()


@pytest.fixture
def followed(redis_client):
    """A session model that follows Redis, a publisher writing there, and the follower."""
    model = SessionModel("demo")
    follower = SessionFollower(model, redis_client)
    follower.start()
    publisher = DataPublisher(redis_client, expiration=600)
    yield model, publisher, follower
    follower.stop()
    publisher.close()


def running_loopscan(publisher: DataPublisher, npoints: int, counters: list[str]):
    """(scan name, {counter: its float64 channel}) of a loopscan published as running."""
    scan = "demo:tmp:scans:1_loopscan"
    info = {"scan_nb": 1, "type": "loopscan", "title": f"loopscan {npoints} 0",
            "npoints": npoints, "state": "RUNNING", "counters": counters, "axes": []}  # fmt: skip
    publisher.create_node(scan, "scan", info, parent="demo")
    timer = publisher.create_node(scan + ":timer", "master", {}, parent=scan)
    return scan, {
        name: publisher.create_channel(f"{timer}:{name}", parent=timer, dtype="float64", shape=())
        for name in counters
    }


def wait_for(model: SessionModel, condition) -> None:
    """Until the model, changed by its follower, meets `condition()`."""
    with gevent.Timeout(30, AssertionError("the model never got there")):
        while True:
            changed = model.changed.current()
            if condition():
                return
            changed.wait()


def test_a_page_is_sent_each_point_once(followed):
    """A following page gets new points only; a page that connects later gets all."""
    model, publisher, follower = followed
    follower.show_channels(None)  # as the server does for a stream of every channel
    scan, channels = running_loopscan(publisher, 6, ["diode"])
    diode = channels["diode"]
    page = PageCursor(model, "first")
    diode.append(np.array([1.0, 2.0, 3.0]))
    publisher.flush()
    wait_for(model, lambda: model.live is not None and model.live.points_done == 3)
    first = page.updates()
    assert [e.split(b"\n", 1)[0] for e in first] == [
        b"event: hello",
        b"event: history",
        b"event: scan",
        b"event: data",
    ]
    data = _payload(first[-1])
    assert decode(data["series"]["diode"]) == [1.0, 2.0, 3.0] and data["done"] == 3
    assert page.updates() == []  # nothing new: nothing sent
    diode.append(np.array([4.0, 5.0]))
    publisher.flush()
    wait_for(model, lambda: model.live.points_done == 5)
    (update,) = page.updates()
    data = _payload(update)
    assert data["series"]["diode"]["first"] == 3 and decode(data["series"]["diode"]) == [4, 5]
    late = PageCursor(model, "late")
    data = _payload(late.updates()[-1])
    assert data["series"]["diode"]["first"] == 0 and len(decode(data["series"]["diode"])) == 5
    diode.append(np.array([6.0]))
    publisher.update_info(scan, {"state": "DONE"})
    publisher.end_scan(scan)
    wait_for(model, lambda: model.live.ended)
    history, update = page.updates()
    assert _payload(history)["scans"][0]["state"] == "DONE"
    data = _payload(update)
    assert decode(data["series"]["diode"]) == [6.0]
    assert data["info"]["state"] == "DONE" and data["ended"] is True


def test_a_scans_end_is_sent_at_once_not_after_the_update_interval(followed, monkeypatch):
    """Between updates a page's stream batches what arrives; the end of a scan, which the
    operator waits for, breaks that wait. (The interval is made an hour: only the end can
    end it within the test's guard.)"""
    model, publisher, follower = followed
    monkeypatch.setattr(server, "UPDATES_PER_S", 1 / 3600)
    scan, channels = running_loopscan(publisher, 2, ["diode"])
    channels["diode"].append(np.array([1.0]))
    publisher.flush()
    wait_for(model, lambda: model.live is not None and model.live.points_done == 1)
    stream = server.PlotApp(model, follower, "token")._stream("page", select=False)
    assert next(stream).startswith(b"retry:")
    assert b"event: scan" in next(stream)  # the scan so far; then the interval's wait
    following = gevent.spawn(next, stream)
    channels["diode"].append(np.array([2.0]))
    publisher.update_info(scan, {"state": "DONE"})
    publisher.end_scan(scan)
    with gevent.Timeout(30, AssertionError("the end waited for the update interval")):
        update = following.get()
    data = _payload(b"event: data\n" + update.split(b"event: data\n", 1)[1])
    assert data["ended"] is True and data["info"]["state"] == "DONE"
    stream.close()


def test_a_selecting_page_is_sent_the_channels_it_shows_only(followed):
    """Nothing of the points until the page names channels; a channel named later comes
    from the first point; the progress comes either way; other readers get everything."""
    model, publisher, follower = followed
    follower.show_channels(None)  # as the server does while `reader` is connected
    _, channels = running_loopscan(publisher, 9, ["diode", "beam"])
    page = PageCursor(model, "selecting", select=True)
    reader = PageCursor(model, "reader")

    def publish(first: int, count: int) -> None:
        for offset, channel in enumerate(channels.values()):
            channel.append(np.arange(first, first + count) + 100.0 * offset)
        publisher.flush()
        done = first + count
        wait_for(model, lambda: model.live is not None and len(model.live.series) == 2
                 and model.live.points_done == done)  # fmt: skip

    publish(0, 3)
    data = _payload(page.updates()[-1])
    assert "series" not in data and data["done"] == 3
    assert set(_payload(reader.updates()[-1])["series"]) == {"diode", "beam"}
    page.show_channels(["diode"])
    data = _payload(page.updates()[-1])
    assert set(data["series"]) == {"diode"} and decode(data["series"]["diode"]) == [0, 1, 2]
    publish(3, 2)
    data = _payload(page.updates()[-1])
    assert set(data["series"]) == {"diode"} and data["series"]["diode"]["first"] == 3
    page.show_channels(["diode", "beam"])
    data = _payload(page.updates()[-1])
    assert set(data["series"]) == {"beam"} and data["series"]["beam"]["first"] == 0
    assert decode(data["series"]["beam"]) == [100, 101, 102, 103, 104]
    page.show_channels([])
    publish(5, 1)
    data = _payload(page.updates()[-1])
    assert "series" not in data and data["done"] == 6  # the progress, nothing to draw
    assert page.updates() == []


def test_the_follower_reads_the_channels_pages_show_only(followed, redis_client):
    """Besides one channel for the progress; a channel shown later is read from its first
    point, during the scan (by the walk) or after it (read whole from Redis)."""
    model, publisher, follower = followed
    follower.show_channels(frozenset({"diode"}))
    scan, channels = running_loopscan(publisher, 9, ["elapsed", "diode", "beam", "extra"])
    wait_for(model, lambda: model.live is not None and len(model.live.series) == 4)

    def publish(first: int, count: int) -> None:
        for offset, channel in enumerate(channels.values()):
            channel.append(np.arange(first, first + count) + 100.0 * offset)
        publisher.flush()

    def lengths() -> dict[str, int]:
        return {name: buffer.length for name, buffer in model.live.series.items()}

    publish(0, 3)
    wait_for(model, lambda: model.live.points_done == 3)
    assert lengths() == {"elapsed": 3, "diode": 3, "beam": 0, "extra": 0}
    assert model.live.unread == {"beam", "extra"}
    assert PageCursor(model, "page").updates()[-1].count(b'"done":3') == 1
    follower.show_channels(frozenset({"beam"}))  # diode stays read until the scan ends
    wait_for(model, lambda: lengths()["beam"] == 3)
    assert model.live.series["beam"].values.tolist() == [200, 201, 202]
    publish(3, 2)
    wait_for(model, lambda: model.live.points_done == 5)
    assert lengths() == {"elapsed": 5, "diode": 5, "beam": 5, "extra": 0}
    publisher.update_info(scan, {"state": "DONE"})
    publisher.end_scan(scan)
    wait_for(model, lambda: model.live.ended)
    follower.show_channels(frozenset({"extra"}))
    wait_for(model, lambda: lengths()["extra"] == 5)
    assert model.live.series["extra"].values.tolist() == [300, 301, 302, 303, 304]
    assert model.live.unread == set()


def test_stopping_the_follower_ends_its_reads_of_ended_scans(followed):
    """A channel shown after its scan ended is read by a greenlet of its own: stop() ends
    it too, so a plot server that stops leaves nothing reading Redis behind it."""
    model, publisher, follower = followed
    scan, channels = running_loopscan(publisher, 2, ["elapsed", "diode"])
    for channel in channels.values():
        channel.append(np.arange(2.0))
    publisher.update_info(scan, {"state": "DONE"})
    publisher.end_scan(scan)
    wait_for(model, lambda: model.live is not None and model.live.ended)
    follower.show_channels(frozenset({"diode"}))
    (reader,) = follower._readers  # spawned, not started: nothing here has yielded since
    follower.stop()
    assert reader.dead and len(follower._readers) == 0
    assert model.live.series["diode"].length == 0


def test_a_running_scan_asked_for_whole_is_read_whole(followed):
    """/api/scan of the live scan gives every channel, however few pages show."""
    model, publisher, follower = followed
    _, channels = running_loopscan(publisher, 9, ["elapsed", "diode"])
    for channel in channels.values():
        channel.append(np.arange(4.0))
    publisher.flush()
    wait_for(model, lambda: model.live is not None and len(model.live.series) == 2
             and model.live.points_done == 4)  # fmt: skip
    assert model.live.unread == {"diode"}
    whole = follower.load(model.live.id)
    assert whole is not model.live and not whole.ended and not whole.unread
    assert whole.series["diode"].values.tolist() == [0, 1, 2, 3]
    assert follower.load(model.live.id, whole=False) is model.live


def _payload(event: bytes) -> dict:
    import json

    line = event.split(b"\n")[1]
    assert line.startswith(b"data: ")
    return json.loads(line[len(b"data: ") :])


def test_points_spliced_into_an_update_make_the_json_a_page_parses():
    """The base64 points are not passed through json.dumps: the event must still be the
    JSON document it would have made, whatever the channels' names."""
    odd = 'timer:a "quoted", back\\slashed µ name'
    values = {odd: np.array([1.0, 2.5]), "diode": np.array([-3.0])}
    event = sse(
        "data",
        {"id": "s", "note": 'µ \n "'},
        {name: (first, pack_bytes(v)) for first, (name, v) in enumerate(values.items())},
    )
    assert event.startswith(b"event: data\ndata: ") and event.endswith(b"}\n\n")
    assert _payload(event) == {
        "id": "s",
        "note": 'µ \n "',
        "series": {
            name: {"first": first, "values": pack(v)}
            for first, (name, v) in enumerate(values.items())
        },
    }
    assert _payload(sse("data", {"id": "s"}, {})) == {"id": "s"}


@pytest.mark.parametrize("name", ["diode", "gauss"])
def test_channels_of_the_same_name_under_two_masters_are_both_kept(name):
    scan = ScanModel("demo:tmp:scans:1_ascan", "scan", {"npoints": 2})
    first = scan.add_channel(f"demo:tmp:scans:1_ascan:axis:{name}", (), "<f8", None)
    second = scan.add_channel(f"demo:tmp:scans:1_ascan:axis:timer:{name}", (), "<f8", None)
    assert first == name and second == f"timer:{name}"


def test_markers_are_computed_on_the_curve_as_drawn():
    analysis = pytest.importorskip("beamshell.analysis", reason="beamshell.analysis not installed")
    cen, com, peak = analysis.cen, analysis.com, analysis.peak
    from beamshell.plotting.markers import MarkerCache

    x = np.linspace(-2, 2, 41)
    gauss = 1000 * np.exp(-4 * np.log(2) * (x - 0.3) ** 2)
    monitor = np.linspace(50, 150, 41)
    scan = ScanModel("demo:tmp:scans:1_ascan", "scan", {"npoints": 41})
    for name, values in (("m1", x), ("gauss", gauss), ("beam", monitor)):
        scan.add_channel(f"demo:tmp:scans:1_ascan:axis:{name}", (), "<f8", None)
        scan.add_points(f"demo:tmp:scans:1_ascan:axis:{name}", 0, values)
    cache = MarkerCache()
    raw = cache.markers(scan, "m1", ["gauss", "nothing"], None)["counters"]
    assert list(raw) == ["gauss"]
    assert raw["gauss"]["peak"]["x"] == peak(x, gauss) and raw["gauss"]["com"] == com(x, gauss)
    normalised = cache.markers(scan, "m1", ["gauss"], "beam")["counters"]["gauss"]
    assert normalised["cen"]["x"] == cen(x, gauss / monitor).position != raw["gauss"]["cen"]["x"]
    flat = ScanModel("demo:tmp:scans:2_ascan", "scan", {})
    for name in ("m1", "diode"):
        flat.add_channel(f"demo:tmp:scans:2_ascan:axis:{name}", (), "<f8", None)
        flat.add_points(f"demo:tmp:scans:2_ascan:axis:{name}", 0, np.ones(5))
    assert cache.markers(flat, "m1", ["diode"], None)["counters"]["diode"] == {
        "peak": None,
        "cen": None,
        "com": None,
        "points": 5,
    }


def test_markers_of_a_running_scan_are_shared_by_the_pages_then_exact_at_its_end():
    pytest.importorskip("beamshell.analysis", reason="beamshell.analysis not installed")
    from beamshell.plotting.markers import RUNNING_REUSE_S, MarkerCache

    now = [100.0]
    cache = MarkerCache(clock=lambda: now[0])
    x = np.linspace(-2, 2, 41)
    gauss = 1000 * np.exp(-4 * np.log(2) * (x - 0.3) ** 2)
    scan = ScanModel("demo:tmp:scans:1_ascan", "scan", {"npoints": 41})
    for name in ("m1", "gauss"):
        scan.add_channel(f"demo:tmp:scans:1_ascan:axis:{name}", (), "<f8", None)

    def take(first: int, last: int) -> None:
        for name, values in (("m1", x), ("gauss", gauss)):
            scan.add_points(f"demo:tmp:scans:1_ascan:axis:{name}", first, values[first:last])

    def points() -> int:
        return cache.markers(scan, "m1", ["gauss"], None)["counters"]["gauss"]["points"]

    take(0, 20)
    assert points() == 20
    take(20, 30)
    now[0] += RUNNING_REUSE_S / 2
    assert points() == 20  # another page, soon after: the same markers
    now[0] += RUNNING_REUSE_S
    assert points() == 30  # later: computed again with the points taken since
    take(30, 41)
    scan.ended = True
    assert points() == 41  # the scan has ended: at once, on all its points


def test_pages_that_lack_the_same_points_share_their_encoding(monkeypatch):
    """Three pages woken together are sent one encoding of the new points; a page behind
    the others is sent its own, from where it is."""
    encoded = []
    monkeypatch.setattr(
        messages, "pack_bytes", lambda values: encoded.append(len(values)) or pack_bytes(values)
    )
    model = SessionModel("demo")
    info = {"scan_nb": 1, "type": "loopscan", "npoints": 6, "state": "RUNNING"}
    scan = model.live = ScanModel("demo:tmp:scans:1_loopscan", "scan", info)
    scan.add_channel(scan.id + ":timer:diode", (), "<f8", None)
    pages = [PageCursor(model, f"page{n}") for n in range(3)]
    late = PageCursor(model, "late")
    scan.add_points(scan.id + ":timer:diode", 0, np.array([1.0, 2.0]))
    assert decode(_payload(late.updates()[-1])["series"]["diode"]) == [1.0, 2.0]
    scan.add_points(scan.id + ":timer:diode", 2, np.array([3.0, 4.0, 5.0]))
    for page in pages:
        series = _payload(page.updates()[-1])["series"]["diode"]
        assert series["first"] == 0 and decode(series) == [1.0, 2.0, 3.0, 4.0, 5.0]
    series = _payload(late.updates()[-1])["series"]["diode"]
    assert series["first"] == 2 and decode(series) == [3.0, 4.0, 5.0]
    assert encoded == [2, 5, 3]  # the late page's two, the three pages' one


def test_a_running_scans_updates_say_how_long_it_has_run_by_the_servers_clock():
    """The page's header counts on from `elapsed`: a viewer's own clock may be wrong."""
    model = SessionModel("demo")
    info = {"scan_nb": 1, "type": "loopscan", "npoints": 4, "state": "RUNNING",
            "start_timestamp": 1000.0}  # fmt: skip
    scan = model.live = ScanModel("demo:tmp:scans:1_loopscan", "scan", info)
    diode = scan.id + ":timer:diode"
    scan.add_channel(diode, (), "<f8", None)
    now = 1012.5
    page = PageCursor(model, "page", clock=lambda: now)
    assert _payload(page.updates()[-1])["elapsed"] == 12.5
    scan.add_points(diode, 0, np.array([1.0]))
    now = 1013.25
    assert _payload(page.updates()[-1])["elapsed"] == 13.25
    scan.ended = True  # its header then shows end_timestamp - start_timestamp
    assert "elapsed" not in _payload(page.updates()[-1])
