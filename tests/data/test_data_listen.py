"""`run_listen`, the body of `beamshell listen`: one line per event, stopped cleanly."""

import io
import signal
import subprocess
import sys

import gevent
import gevent.event
import numpy as np
import pytest

from beamshell.data.listen import run_listen
from beamshell.data.publish import DataPublisher

LISTEN = (
    "import sys; from beamshell.data.listen import run_listen; sys.exit(run_listen('demo', None))"
)


def publish_scan(redis_client, scan_nb=1, npoints=4):
    pub = DataPublisher(redis_client)
    scan = pub.create_node(
        f"demo:tmp:scans:{scan_nb}_loopscan",
        "scan",
        {"scan_nb": scan_nb, "state": "RUNNING"},
        parent="demo",
    )
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    diode = pub.create_channel(master + ":diode", parent=master)
    mca = pub.create_channel(master + ":mca", parent=master, dtype="int32", shape=(16,))
    for i in range(npoints):
        diode.append(np.array([i + 0.5]))
        mca.append(np.zeros((1, 16), dtype=np.int32))
        gevent.sleep(0.01)
    pub.update_info(scan, {"state": "DONE"})
    pub.end_scan(scan)
    pub.close()
    return scan


def test_listen_in_a_separate_process_prints_each_event(redis_client):
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with gevent.Timeout(20):
        assert listener.stdout.readline().startswith("listening to session 'demo' at unix://")
        assert listener.stdout.readline() == (
            "session 'demo' has no scans yet: waiting for its first scan\n"
        )
        scan = publish_scan(redis_client)
        lines = []
        while not lines or "END_SCAN" not in lines[-1]:
            lines.append(listener.stdout.readline().rstrip("\n"))
    listener.send_signal(signal.SIGINT)
    assert listener.wait(10) == 0
    fields = [line.split(" ", 3)[1:] for line in lines]
    assert fields[0] == ["NEW_NODE", scan, "(scan)"]
    assert ["NEW_NODE", scan + ":timer:diode", "(channel)"] in fields
    diode_data = [f for f in fields if f[:2] == ["NEW_DATA", scan + ":timer:diode"]]
    assert diode_data[-1][2].endswith("..3] last=3.5")
    mca_data = [f for f in fields if f[:2] == ["NEW_DATA", scan + ":timer:mca"]]
    assert mca_data[-1][2].endswith("last shape (16,)")
    assert fields[-1] == ["END_SCAN", scan, "state=DONE"]


class LinesOut(io.StringIO):
    """The listener's output; `ended` is set once it has written an END_SCAN line."""

    def __init__(self):
        super().__init__()
        self.listening = gevent.event.Event()
        self.ended = gevent.event.Event()

    def write(self, text: str) -> int:
        if text.startswith("listening to session"):
            self.listening.set()
        if "END_SCAN" in text:
            self.ended.set()
        return super().write(text)


def test_listen_stops_on_its_stop_event(redis_client):
    out = LinesOut()
    stop = gevent.event.Event()
    listener = gevent.spawn(run_listen, "demo", None, out, stop)
    assert out.listening.wait(timeout=30)
    publish_scan(redis_client)
    assert out.ended.wait(timeout=30)
    stop.set()
    assert listener.get(timeout=10) == 0
    assert out.getvalue().splitlines()[-1].split()[1:] == [
        "END_SCAN",
        "demo:tmp:scans:1_loopscan",
        "state=DONE",
    ]


@pytest.mark.parametrize("earlier_scan", [False, True])
def test_a_scan_that_starts_right_after_the_status_line_is_live_not_a_replay(
    redis_client, earlier_scan
):
    """The status line comes before the walker has read anything: a scan that starts in
    between (a listener slow to start on a busy machine) is news, not a replay; also when
    listen starts after a finished scan ('waiting for the next scan')."""
    if earlier_scan:
        publish_scan(redis_client, scan_nb=1)

    class PublishWhenWaiting(LinesOut):
        def write(self, text: str) -> int:
            written = super().write(text)
            if "waiting for its first scan" in text or "waiting for the next scan" in text:
                publish_scan(redis_client, scan_nb=2)  # before the listener reads anything
            return written

    out = PublishWhenWaiting()
    stop = gevent.event.Event()
    listener = gevent.spawn(run_listen, "demo", None, out, stop)
    assert out.ended.wait(timeout=30)
    stop.set()
    assert listener.get(timeout=10) == 0
    events = out.getvalue().splitlines()[2:]
    assert events and all(line[:2].isdigit() and "replay" not in line for line in events)


@pytest.mark.parametrize("url", ["unix:///nonexistent/redis.sock"])
def test_listen_without_redis_is_one_line_and_status_1(url, capsys):
    assert run_listen("demo", url) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"Redis not reachable at {url}" in err


def _start_listener():
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert listener.stdout.readline().startswith("listening to session 'demo'")
    return listener, listener.stdout.readline().rstrip("\n")


def _lines_until_end(listener) -> list[str]:
    lines: list[str] = []
    while not lines or "END_SCAN" not in lines[-1] or ":timer" in lines[-1]:
        lines.append(listener.stdout.readline().rstrip("\n"))
    return lines


def _stop(listener) -> None:
    listener.send_signal(signal.SIGINT)
    assert listener.wait(10) == 0


def test_a_finished_scan_is_named_not_replayed_as_if_it_happened_now(redis_client):
    old = publish_scan(redis_client, scan_nb=1)
    with gevent.Timeout(20):
        listener, status = _start_listener()
        assert status == "last scan of session 'demo': 1 DONE: waiting for the next scan"
        new = publish_scan(redis_client, scan_nb=2)
        lines = _lines_until_end(listener)
    _stop(listener)
    assert not any(old in line for line in lines)  # the old scan is not replayed
    assert lines[0].split()[1:] == ["NEW_NODE", new, "(scan)"]
    assert all(line[:2].isdigit() and "replay" not in line for line in lines)  # live: clock


def test_a_running_scan_is_caught_up_marked_replay_then_followed_live(redis_client):
    pub = DataPublisher(redis_client)
    scan = pub.create_node(
        "demo:tmp:scans:3_loopscan",
        "scan",
        {"scan_nb": 3, "title": "loopscan 4 0.1", "state": "RUNNING",
         "start_time": "2026-01-02T14:03:04"},
        parent="demo",
    )  # fmt: skip
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    diode = pub.create_channel(master + ":diode", parent=master)
    diode.append(np.array([0.5, 1.5]))
    pub.flush()
    with gevent.Timeout(20):
        listener, status = _start_listener()
        assert status == (
            "scan 3 'loopscan 4 0.1' of session 'demo' is running (started "
            "2026-01-02T14:03:04): its events so far are marked 'replay', then live"
        )
        replayed = [listener.stdout.readline().rstrip("\n") for _ in range(4)]
        diode.append(np.array([2.5]))
        pub.update_info(scan, {"state": "DONE"})
        pub.end_scan(scan)
        pub.close()
        live = _lines_until_end(listener)
    _stop(listener)
    assert [line.split()[:2] for line in replayed] == [
        ["replay", "NEW_NODE"], ["replay", "NEW_NODE"], ["replay", "NEW_NODE"],
        ["replay", "NEW_DATA"],
    ]  # fmt: skip
    assert replayed[0].endswith(f"{scan} (scan, started 2026-01-02T14:03:04)")
    assert replayed[3].endswith("[0..1] last=1.5")
    assert live[0].split()[1:] == ["NEW_DATA", diode_name(scan), "[2..2]", "last=2.5"]
    assert live[-1].split()[1:] == ["END_SCAN", scan, "state=DONE"]
    assert all(line[:2].isdigit() for line in live)


def diode_name(scan: str) -> str:
    return scan + ":timer:diode"
