"""Publishing under stress and faults, with real processes: a reader in another process
following a full-speed scan, a paused redis-server, a redis-server killed and restarted."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import gevent
import pytest

from beamshell.config.redis_server import PrivateRedis, connect
from beamshell.data.node import END_SCAN, get_node
from beamshell.scanning import scans
from beamshell.scanning.chain import ChainIterationPreset, ChainPreset
from beamshell.scanning.context import ScanEnvironment
from beamshell.scanning.scan import ScanPreset, ScanState

FOLLOWER = Path(__file__).with_name("follow_scan.py")
# Longer than redis-py's default socket timeout (5 s), which used to lose the batch.
PAUSE_S = 6.5


class AtPoint(ChainPreset):
    """Calls `action()` once, when iteration `index` starts (a known moment of the scan)."""

    def __init__(self, index, action):
        self.index = index
        self.action = action

    def get_iterator(self, acq_chain):
        number = 0
        while True:
            if number == self.index:
                self.action()
            number += 1
            yield ChainIterationPreset()


class RecordStop(ScanPreset):
    def __init__(self):
        self.stopped_in_state = None

    def stop(self, scan):
        self.stopped_in_state = scan.state


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test alone, to pause, kill and restart."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.kill()


def own_env(server, config, name="demo"):
    client = connect(server.url)  # what a session uses: redis-py's default socket timeout
    return ScanEnvironment(name, user="seb", redis=client, display=False), client


def test_a_reader_following_a_full_speed_scan_gets_every_point_once_in_order(
    publishing_env, devices, redis_url
):
    reader = subprocess.Popen(
        [sys.executable, str(FOLLOWER), "demo", redis_url], stdout=subprocess.PIPE, text=True
    )
    try:
        with gevent.Timeout(60):
            assert reader.stdout.readline().strip() == "READY"
        counters = [devices.diode, devices.diode2, devices.diode3, devices.beam, devices.stats]
        scan = scans.loopscan(200_000, 0, *counters)
        out, _ = reader.communicate(timeout=120)
    finally:
        reader.kill()
    assert scan.state is ScanState.DONE
    got = {line["channel"]: line for line in map(json.loads, out.splitlines())}
    data = scan.get_data()
    assert set(got) == {channel.name for channel in scan.channels}
    for name, line in got.items():
        assert line["points"] == 200_000 and line["in_order"], name
        assert line["digest"] == hashlib.sha1(data[name].tobytes()).hexdigest(), name


def test_a_paused_server_is_waited_for_and_nothing_is_lost(own_redis, config, devices):
    """SIGSTOP for longer than the client's socket timeout: the scan waits, then succeeds."""
    env, client = own_env(own_redis, config)
    paused = []

    def pause():
        os.kill(own_redis.pid, signal.SIGSTOP)
        paused.append(True)
        gevent.spawn_later(PAUSE_S, os.kill, own_redis.pid, signal.SIGCONT)

    scan = scans.loopscan(60, 0.01, devices.diode, devices.mca, run=False, env=env)
    scan.acq_chain.add_preset(AtPoint(20, pause))
    with gevent.Timeout(60):
        scan.run()
    assert paused and scan.state is ScanState.DONE
    node = get_node(scan.node_name, connection=client)
    assert node.info["state"] == "DONE"
    data = scan.get_data()
    for name in ("diode", "mca", "epoch"):
        stored = get_node(f"{scan.node_name}:timer:{name}", connection=client)
        assert len(stored) == 60
        assert (stored.get(0, -1) == data[name]).all()
    client.close()


def test_redis_killed_mid_scan_stops_it_at_once_and_the_next_scan_works(
    own_redis, config, devices, tmp_path
):
    """kill -9 during a scan that would never end: it stops with one line naming the URL,
    through the usual abort path; once Redis is back, the same environment scans again."""
    env, client = own_env(own_redis, config)
    killed_at = []

    def kill():
        own_redis.kill()
        killed_at.append(scan.npoints_done)

    scan = scans.timescan(0.02, devices.diode, run=False, env=env)  # runs until stopped
    scan.acq_chain.add_preset(AtPoint(10, kill))
    preset = RecordStop()
    scan.add_preset(preset)
    with gevent.Timeout(60), pytest.raises(Exception) as caught:
        scan.run()
    message = str(caught.value)
    assert own_redis.url in message and "\n" not in message, message
    assert scan.node_name in message
    assert scan.state is ScanState.ABORTED
    assert preset.stopped_in_state is ScanState.STOPPING  # presets' stop ran, as for any error
    # The first publish after the kill failed the scan: a few points later, not at the end.
    assert scan.npoints_done - killed_at[0] < 50
    assert len(scan.get_data()["diode"]) == scan.npoints_done  # kept in memory

    own_redis.start()  # a real restart, same socket
    again = scans.loopscan(5, 0.01, devices.diode, run=False, env=env)
    with gevent.Timeout(60):
        again.run()
    assert again.state is ScanState.DONE
    node = get_node(again.node_name, connection=client)
    assert node.info["state"] == "DONE"
    assert [event for event, _, _ in node.walk_events(wait=False)][-1] == END_SCAN
    assert len(get_node(again.node_name + ":timer:diode", connection=client)) == 5
    client.close()


def test_redis_killed_while_a_preset_waits_stops_the_scan_in_that_wait(own_redis, config, devices):
    """A preset waiting for beam does not delay the failure: the scan stops in the wait."""
    env, client = own_env(own_redis, config)
    waited = []

    def kill_then_wait_for_beam():
        own_redis.kill()
        gevent.sleep(30)  # the beam never comes back; the lost Redis must end this
        waited.append(True)

    scan = scans.loopscan(20, 0.01, devices.diode, run=False, env=env)
    scan.acq_chain.add_preset(AtPoint(5, kill_then_wait_for_beam))
    preset = RecordStop()
    scan.add_preset(preset)
    with gevent.Timeout(20), pytest.raises(Exception, match=own_redis.url):
        scan.run()
    assert not waited
    assert scan.state is ScanState.ABORTED and preset.stopped_in_state is ScanState.STOPPING
    assert scan.npoints_done == 5
    client.close()
