"""Separate reading processes follow scans published by a separate publishing process."""

import pytest
from processes import go_on, read_events_until, reader_events, start_script, wait_for_line

SCALARS = ("elapsed_time", "epoch", "diode", "diode2", "diode3")
SCAN = "demo:tmp:scans:1_loopscan"


def expected_value(channel: int, index: int) -> float:
    return channel * 1000.0 + index + 0.25


def check_scan(events: list[dict], npoints: int, scan: str = SCAN, state: str = "DONE") -> None:
    """Every point of every channel once and in order, then END_SCAN with the final state."""
    scan_events = [e for e in events if e["db_name"].startswith(scan)]
    assert scan_events[0] == {"event": "NEW_NODE", "db_name": scan, "type": "scan"}
    end = scan_events[-1]
    assert end["event"] == "END_SCAN" and end["db_name"] == scan
    assert end["state"] == state
    assert [e for e in scan_events if e["event"] == "END_SCAN"] == [end]
    for number, name in enumerate(SCALARS):
        db_name = f"{scan}:timer:{name}"
        data = [e for e in scan_events if e["db_name"] == db_name and e["event"] == "NEW_DATA"]
        new = [e for e in scan_events if e["db_name"] == db_name and e["event"] == "NEW_NODE"]
        assert len(new) == 1
        assert scan_events.index(new[0]) < scan_events.index(data[0])
        indexes = []
        for event in data:
            assert event["dtype"] == "float64"
            assert event["last"] - event["first"] + 1 == len(event["values"])
            indexes.extend(range(event["first"], event["last"] + 1))
            assert event["values"] == [
                expected_value(number, i) for i in range(event["first"], event["last"] + 1)
            ]
        assert indexes == list(range(npoints)), name


def test_reader_follows_a_running_scan_from_its_start(redis_url):
    reader = start_script("read_session.py")
    wait_for_line(reader, '{"ready"')
    writer = start_script("publish_loopscan.py", "--npoints", "30", "--count-time", "0.02")
    events, forbidden = reader_events(reader)
    assert forbidden == []
    check_scan(events, 30)
    assert writer.wait(30) == 0


def test_reader_started_halfway_gets_everything_once_in_order(redis_url):
    writer = start_script(
        "publish_loopscan.py", "--npoints", "40", "--count-time", "0.03", "--hold-after", "20"
    )
    wait_for_line(writer, "POINT 20")
    reader = start_script("read_session.py")
    # The reader catches up with what exists (points 0 to 20), then the scan goes on.
    caught_up = read_events_until(
        reader, lambda e: e["db_name"] == SCAN + ":timer:diode" and e.get("last") == 20
    )
    go_on(writer)
    events, forbidden = reader_events(reader, read_before=caught_up)
    assert forbidden == []
    check_scan(events, 40)
    # It followed live after catching up: more than one batch.
    diode = [
        e for e in events if e["db_name"] == SCAN + ":timer:diode" and e["event"] == "NEW_DATA"
    ]
    assert len(diode) > 1 and diode[0]["last"] == 20
    assert writer.wait(30) == 0


def test_several_readers_at_once(redis_url):
    early = [start_script("read_session.py") for _ in range(2)]
    writer = start_script("publish_loopscan.py", "--npoints", "30", "--count-time", "0.03")
    wait_for_line(writer, "POINT 10")
    late = start_script("read_session.py")
    wait_for_line(writer, "POINT 20")
    later = start_script("read_session.py")
    for reader in [*early, late, later]:
        events, forbidden = reader_events(reader)
        assert forbidden == []
        check_scan(events, 30)
    assert writer.wait(30) == 0


def test_reading_after_the_writer_has_exited(redis_url):
    writer = start_script(
        "publish_loopscan.py", "--npoints", "12", "--count-time", "0.001", "--nscans", "2"
    )
    assert writer.wait(30) == 0
    follower = start_script("read_session.py", "--scans", "2")
    events, _ = reader_events(follower)
    check_scan(events, 12)
    check_scan(events, 12, scan="demo:tmp:scans:2_loopscan")
    # Depth first: the whole first scan comes before the second one.
    first_end = events.index(next(e for e in events if e["event"] == "END_SCAN"))
    assert all(e["db_name"].startswith(SCAN) for e in events[: first_end + 1])

    snapshot = start_script("read_session.py", "--no-wait", "--scans", "99")
    events, _ = reader_events(snapshot, timeout=10)
    check_scan(events, 12)
    check_scan(events, 12, scan="demo:tmp:scans:2_loopscan")


def test_wait_false_returns_what_exists_now_during_a_scan(redis_url):
    writer = start_script(
        "publish_loopscan.py", "--npoints", "60", "--count-time", "0.05", "--hold-after", "10"
    )
    wait_for_line(writer, "POINT 10")  # holds there, points 0 to 10 written
    snapshot = start_script("read_session.py", "--no-wait")
    events, forbidden = reader_events(snapshot)
    assert forbidden == []
    assert not [e for e in events if e["event"] == "END_SCAN"]
    diode = [
        e for e in events if e["db_name"] == SCAN + ":timer:diode" and e["event"] == "NEW_DATA"
    ]
    got = [i for e in diode for i in range(e["first"], e["last"] + 1)]
    assert got == list(range(11))
    writer.kill()
    writer.wait()


def test_aborted_scan_ends_with_end_scan_and_state_aborted(redis_url):
    reader = start_script("read_session.py")
    writer = start_script(
        "publish_loopscan.py", "--npoints", "50", "--count-time", "0.01", "--abort-after", "7"
    )
    events, _ = reader_events(reader)
    check_scan(events, 7, state="ABORTED")
    assert writer.wait(30) == 0


@pytest.mark.parametrize("mca_size", [1024])
def test_one_dimensional_data_followed_by_another_process(redis_url, mca_size):
    reader = start_script("read_session.py")
    writer = start_script(
        "publish_loopscan.py", "--npoints", "8", "--count-time", "0.01", "--mca-size", str(mca_size)
    )
    events, _ = reader_events(reader)
    mca = [e for e in events if e["db_name"] == SCAN + ":timer:mca" and e["event"] == "NEW_DATA"]
    rows = [row for e in mca for row in e["values"]]
    assert all(e["dtype"] == "uint32" for e in mca)
    assert rows == [[k * (i + 1) for k in range(mca_size)] for i in range(8)]
    assert writer.wait(30) == 0


STOP_FROM_THREAD = """
import sys, threading, time
from beamshell.data.node import get_session_node
walker = get_session_node("demo").walk_events()
threading.Timer(0.3, walker.stop).start()
assert list(walker) == []
print("stopped", "gevent" in sys.modules)
"""


def test_stop_from_another_thread_in_a_plain_process(redis_url):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", STOP_FROM_THREAD], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["stopped", "False"]  # a reader needs no gevent
