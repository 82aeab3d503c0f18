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


def test_listen_stops_on_its_stop_event(redis_client):
    out = io.StringIO()
    stop = gevent.event.Event()
    listener = gevent.spawn(run_listen, "demo", None, out, stop)
    gevent.sleep(0.1)
    publish_scan(redis_client)
    gevent.sleep(0.2)
    stop.set()
    assert listener.get(timeout=10) == 0
    assert out.getvalue().splitlines()[-1].split()[1:] == [
        "END_SCAN",
        "demo:tmp:scans:1_loopscan",
        "state=DONE",
    ]


@pytest.mark.parametrize("url", ["unix:///nonexistent/redis.sock"])
def test_listen_without_redis_is_one_line_and_status_1(url, capsys):
    assert run_listen("demo", url) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"Redis not reachable at {url}" in err
