"""Scan leases: a scan whose process is killed with SIGKILL is ended KILLED by any follower,
so nothing waits forever; live, unleased or ended scans are never touched."""

import json
import signal
import time

import gevent
import gevent.event
import numpy as np
import pytest
from gevent import monkey
from processes import start_script, wait_for_line

from beamshell.config.redis_server import connect
from beamshell.data.lease import ScanLease, end_abandoned, end_abandoned_in_session
from beamshell.data.node import Event, get_node, get_session_node
from beamshell.data.publish import DataPublisher

real_sleep = monkey.get_original("time", "sleep")  # blocks the whole process: a real stall


def running_scan(client, number=1, state="RUNNING"):
    publisher = DataPublisher(client)
    scan = publisher.create_node(
        f"demo:tmp:scans:{number}_loopscan", "scan", {"state": state}, parent="demo"
    )
    publisher.create_node(scan + ":timer", "master", {}, parent=scan)
    return publisher, scan


def ends_of(client, scan):
    return [f for _, f in client.xrange(scan + "_children") if f[b"e"] == b"end"]


def test_a_lease_is_taken_renewed_and_released(redis_client):
    _, scan = running_scan(redis_client)
    lease = ScanLease(redis_client, scan, lease_time=3)
    lease.acquire()
    node = redis_client.hgetall(scan + "_node")
    assert node[b"lease"] == b"3" and b"pid" in node[b"lease_holder"]
    assert 0 < redis_client.pttl(scan + "_lease") <= 3000
    renewals = 0
    last = redis_client.pttl(scan + "_lease")
    deadline = time.monotonic() + 30  # a guard: renewals come every 0.75 s
    while renewals < 2 and time.monotonic() < deadline:
        gevent.sleep(0.01)  # watching Redis's TTL, which the renewer pushes back up
        ttl = redis_client.pttl(scan + "_lease")
        assert ttl > 0
        renewals += ttl > last
        last = ttl
    assert renewals == 2
    assert end_abandoned(redis_client, [scan]) == []
    lease.release()
    assert not redis_client.exists(scan + "_lease")


@pytest.mark.parametrize("prefix", ["", "bl01"])
def test_kill_9_of_the_publishing_process_a_follower_ends_the_scan(redis_url, monkeypatch, prefix):
    """Also under a configuration's key prefix, where the scan's keys are `bl01:...`."""
    monkeypatch.setenv("BEAMSHELL_REDIS_KEY_PREFIX", prefix)  # for the publishing process
    client = connect(redis_url, key_prefix=prefix)
    follower = get_session_node("demo", connection=client).walk_events(timeout=30)
    writer = start_script("hold_lease.py", "demo", "0.5")
    try:
        pid = int(wait_for_line(writer, "running").split()[1])
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(10) == -signal.SIGKILL
        events = []
        for event, node, _ in follower:  # timeout=30 only guards against a hang
            events.append((event, node.db_name))
            if event is Event.END_SCAN:
                break
    finally:
        if writer.poll() is None:
            writer.kill()
    scan = "demo:tmp:scans:1_timescan"
    assert events[-1] == (Event.END_SCAN, scan)
    assert (Event.NEW_DATA, scan + ":timer:diode") in events  # the data are all there
    info = get_node(scan, connection=client).info
    assert info["state"] == "KILLED"
    holder = client.hget(client.key_prefix + scan + "_node", "lease_holder").decode()
    assert info["end_reason"] == (
        f"the lease of {holder} expired while it was running: the process was killed"
    )
    assert f"pid {pid}" in info["end_reason"]
    assert "end_time" in info and isinstance(info["end_timestamp"], float)


def test_unleased_live_or_ended_scans_are_left_alone(redis_client):
    publisher, unleased = running_scan(redis_client, 1)  # a publisher without a lease
    _, alive = running_scan(redis_client, 2)
    alive_lease = ScanLease(redis_client, alive, lease_time=30)
    alive_lease.acquire()
    try:
        _, ended = running_scan(redis_client, 3, state="DONE")
        lease = ScanLease(redis_client, ended, lease_time=30)
        lease.acquire()
        publisher.end_scan(ended)
        lease.release()
        assert end_abandoned(redis_client, [unleased, alive, ended]) == []
        assert end_abandoned_in_session(redis_client, "demo") == []
        for scan in (unleased, alive):
            assert get_node(scan, connection=redis_client).info["state"] == "RUNNING"
            assert ends_of(redis_client, scan) == []
        assert len(ends_of(redis_client, ended)) == 1
    finally:
        # Its renewer would otherwise live on in this process and write the lease key again
        # after the next tests' FLUSHALL (a key outside their configuration's prefix).
        alive_lease.release()


def test_ending_is_done_once_and_keeps_a_final_state(redis_client):
    _, scan = running_scan(redis_client, 1, state="ABORTED")  # died before its END_SCAN
    redis_client.hset(scan + "_node", "lease", "1")  # leased, and its lease has expired
    _, other = running_scan(redis_client, 2)
    redis_client.hset(other + "_node", "lease", "1")
    assert end_abandoned_in_session(redis_client, "demo") == [scan, other]
    assert end_abandoned(redis_client, [scan, other]) == []  # already ended: nothing again
    assert get_node(scan, connection=redis_client).info["state"] == "ABORTED"
    assert get_node(other, connection=redis_client).info["state"] == "KILLED"
    assert len(ends_of(redis_client, scan)) == len(ends_of(redis_client, other)) == 1
    assert redis_client.ttl(other + "_children") > 0  # it still expires with the scan


def test_a_stalled_writer_learns_that_its_scan_was_ended(redis_client):
    _, scan = running_scan(redis_client)
    lost = gevent.event.Event()
    lease = ScanLease(redis_client, scan, lease_time=0.2, on_lost=lost.set)
    lease.acquire()
    real_sleep(0.5)  # the whole process stalls longer than the lease: nothing renews it
    assert end_abandoned(redis_client, [scan]) == [scan]  # a follower saw it dead
    assert lost.wait(10)
    assert lease.lost
    lease.release()


def test_a_stalled_writer_whose_scan_nobody_ended_takes_its_lease_again(redis_client):
    _, scan = running_scan(redis_client)
    lease = ScanLease(redis_client, scan, lease_time=0.2)
    lease.acquire()
    real_sleep(0.5)  # stalled longer than the lease, but no reader looked meanwhile
    deadline = time.monotonic() + 30  # a guard: the renewer runs every 50 ms
    while not redis_client.exists(scan + "_lease") and time.monotonic() < deadline:
        gevent.sleep(0.01)  # waiting for the renewer, which takes the lease again
    assert redis_client.exists(scan + "_lease") and not lease.lost
    assert end_abandoned(redis_client, [scan]) == []
    lease.release()


@pytest.mark.parametrize("lease_time", [0, -1, float("nan")])
def test_lease_time_must_be_positive(redis_client, lease_time):
    with pytest.raises(ValueError, match="scan lease time must be > 0 seconds"):
        ScanLease(redis_client, "demo:tmp:scans:1_x", lease_time)


def test_end_time_is_json_text(redis_client):
    _, scan = running_scan(redis_client)
    redis_client.hset(scan + "_node", "lease", "1")
    before = time.time()
    end_abandoned(redis_client, [scan])
    raw = redis_client.hget(scan + "_info", "end_time")
    assert isinstance(json.loads(raw), str)
    assert before <= json.loads(redis_client.hget(scan + "_info", "end_timestamp")) <= time.time()
    assert np.isfinite(json.loads(redis_client.hget(scan + "_info", "end_timestamp")))
