"""Scans published to Redis: info, nodes, channel data while running, final state, END_SCAN."""

import gevent
import numpy as np
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from beamshell.config.redis_server import PrivateRedis
from beamshell.data.node import END_SCAN, NEW_NODE, get_node, get_session_node
from beamshell.scanning import scans
from beamshell.scanning.chain import ChainIterationPreset, ChainPreset
from beamshell.scanning.context import ScanEnvironment
from beamshell.scanning.scan import ScanPreset, ScanState

from .helpers import PointsDone


def events_of(node):
    return [(event, child.db_name) for event, child, _ in node.walk_events(wait=False)]


def test_scan_node_info_channels_and_end(publishing_env, devices):
    scan = scans.loopscan(3, 0.01, devices.diode, devices.diode2, devices.stats)
    node = scan.node
    assert node.db_name == f"demo:tmp:scans:{scan.scan_number}_loopscan"
    assert node.type == "scan"
    info = node.info
    for key, value in {
        "scan_nb": scan.scan_number,
        "title": "loopscan 3 0.01",
        "type": "loopscan",
        "npoints": 3,
        "count_time": 0.01,
        "state": "DONE",
        "session": "demo",
        "user": "seb",
        "counters": ["diode", "diode2", "stats"],
        "axes": [],
    }.items():
        assert info[key] == value, key
    assert info["start_time"] <= info["end_time"]
    names = [child.db_name for child in node.walk(wait=False)]
    timer = node.db_name + ":timer"
    for channel in ("elapsed_time", "epoch", "diode", "diode2", "stats", "stats_std",
                    "stats_min", "stats_max"):  # fmt: skip
        assert f"{timer}:{channel}" in names
    data = scan.get_data()
    for channel in ("diode", "stats_std", "elapsed_time"):
        stored = get_node(f"{timer}:{channel}", connection=publishing_env.redis)
        assert len(stored) == 3
        np.testing.assert_array_equal(stored.get(0, -1), data[channel])
    events = events_of(node)
    assert events[-1] == (END_SCAN, node.db_name)
    session_scans = [n.db_name for n in get_session_node("demo", connection=publishing_env.redis)
                     .walk(include_filter="scan", wait=False)]  # fmt: skip
    assert node.db_name in session_scans


def test_motor_scan_publishes_axes(publishing_env, devices):
    scan = scans.ascan(devices.m1, 0, 2, 2, 0, devices.diode)
    assert scan.node.info["axes"] == ["m1"]
    positions = get_node(scan.node.db_name + ":axis:m1", connection=publishing_env.redis)
    np.testing.assert_allclose(positions.get(0, -1), [0, 1, 2])
    assert positions.unit == "mm"
    counts = get_node(scan.node.db_name + ":axis:timer:diode", connection=publishing_env.redis)
    assert len(counts) == 3
    # Depth first, the axis comes before the timer's channels: a live plot that sees the
    # channels as they are announced never takes elapsed_time for the x axis of an ascan.
    walked = [child.name for child in scan.node.walk(wait=False)]
    assert walked.index("m1") < walked.index("timer") < walked.index("elapsed_time")


def test_data_reach_redis_while_the_scan_runs(publishing_env, devices):
    seen_lengths = []

    class Probe(ChainPreset):
        def get_iterator(self, acq_chain):
            for index in range(6):
                if index == 4:
                    channel = get_node(
                        scan.node_name + ":timer:diode", connection=publishing_env.redis
                    )
                    seen_lengths.append(len(channel))
                yield ChainIterationPreset()

    scan = scans.loopscan(6, 0.05, devices.diode, run=False)
    scan.acq_chain.add_preset(Probe())
    scan.run()
    assert seen_lengths and seen_lengths[0] >= 2  # earlier points were in Redis at point 4


def test_end_scan_comes_after_every_preset_stop(publishing_env, devices):
    seen = {}

    class Watch(ScanPreset):
        def stop(self, scan):
            node = get_node(scan.node_name, connection=publishing_env.redis)
            seen["state"] = node.info["state"]
            seen["events"] = events_of(node)

    scan = scans.loopscan(2, 0, devices.diode, run=False)
    scan.add_preset(Watch())
    scan.run()
    assert seen["state"] == "STOPPING"
    assert END_SCAN not in [event for event, _ in seen["events"]]
    assert NEW_NODE in [event for event, _ in seen["events"]]
    assert events_of(scan.node)[-1][0] == END_SCAN


def test_aborted_scan_is_marked_in_redis(publishing_env, devices):
    class Fail(ScanPreset):
        def start(self, scan):
            raise RuntimeError("shutter stuck")

    scan = scans.loopscan(2, 0, devices.diode, run=False)
    scan.add_preset(Fail())
    with pytest.raises(RuntimeError, match="shutter stuck"):
        scan.run()
    assert scan.node.info["state"] == "ABORTED"
    assert events_of(scan.node)[-1][0] == END_SCAN


def test_scan_node_exists_before_running_for_groups(publishing_env, devices):
    scan = scans.loopscan(2, 0, devices.diode, run=False)
    name = scan.prepare_node()
    assert name == f"demo:tmp:scans:{scan.scan_number}_loopscan"
    assert scan.prepare_node() == name  # once only
    assert scan.node.db_name == name  # in Redis already, waiting to run
    assert scan.node.info["state"] == "IDLE" and "start_time" not in scan.node.info
    states = []
    scan.add_state_callback(lambda s, state: states.append(state))
    scan.run()
    assert scan.node.db_name == name and scan.wait(0)
    assert scan.node.info["state"] == "DONE" and "start_time" in scan.node.info
    assert states == [
        ScanState.PREPARING,
        ScanState.STARTING,
        ScanState.RUNNING,
        ScanState.STOPPING,
        ScanState.DONE,
    ]


@pytest.fixture
def doomed_redis(tmp_path):
    """A redis-server of its own, that the test stops in the middle of a scan."""
    with PrivateRedis(tmp_path) as server:
        # Few retries: redis-py's default backoff would only delay the failure by seconds.
        client = redis.Redis(unix_socket_path=str(server.socket_path), retry=Retry(NoBackoff(), 1))
        yield server.process, client
        client.close()


def test_redis_failure_fails_the_scan_with_a_clear_message(doomed_redis, devices, quiet_env):
    process, client = doomed_redis
    env = ScanEnvironment("demo", redis=client, settings=quiet_env.settings, display=False)
    scan = scans.loopscan(100, 0.02, devices.diode, run=False, env=env)
    three_points = PointsDone(3)
    scan.acq_chain.add_preset(three_points)

    def kill_redis():
        three_points.reached.wait()
        process.terminate()
        process.wait(10)

    killer = gevent.spawn(kill_redis)
    with pytest.raises(Exception, match=r"Redis|redis") as caught:
        scan.run()
    killer.join()
    message = str(caught.value)
    assert "\n" not in message and scan.node_name in message
    assert scan.state is ScanState.ABORTED
    assert 3 <= scan.npoints_done < 100
    assert len(scan.get_data()["diode"]) >= scan.npoints_done  # kept in memory
