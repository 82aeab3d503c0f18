"""Followers wait through silence as long as it takes, and still notice a dead server.

redis-py gives every client a socket timeout (5 s by default in redis-py 8, retried once):
a follower that blocked in one XREAD for longer than that used to give up with "Timeout
reading from socket" although Redis was fine. These tests stay silent for longer than any
client timeout involved, then publish, and the followers must get everything.
"""

import os
import signal
import subprocess
import sys

import gevent
import numpy as np
import pytest
import redis

from beamshell.config.redis_server import PrivateRedis, connect
from beamshell.data.node import Event, get_session_node
from beamshell.data.publish import DataPublisher
from beamshell.errors import RedisUnreachable

# Longer than redis-py's default socket timeout (5 s) with its one retry.
QUIET_S = 11.0
SCAN = "demo:tmp:scans:1_loopscan"
LISTEN = "import sys; from beamshell.data.listen import run_listen; sys.exit(run_listen('demo'))"


def collect(walker, into: list) -> None:
    for event, node, data in walker:
        into.append((event, node.db_name, None if data is None else data.data.tolist()))


def test_followers_wait_through_a_quiet_session_and_a_slow_point(
    redis_client, redis_url, wait_live
):
    """Silence before the scan and between two points: nothing gives up, nothing is lost."""
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # One follower with redis-py's default timeout, one with a short one of its own.
    default_events: list = []
    short_events: list = []
    walkers = [
        get_session_node("demo", redis_url).walk_events(),
        get_session_node(
            "demo", connection=redis.Redis.from_url(redis_url, socket_timeout=0.5)
        ).walk_events(stop_on_end=True),
    ]
    followers = [
        gevent.spawn(collect, walkers[0], default_events),
        gevent.spawn(collect, walkers[1], short_events),
    ]
    with gevent.Timeout(20):
        assert listener.stdout.readline().startswith("listening to session 'demo'")
        assert listener.stdout.readline().startswith("session 'demo' has no scans yet")
    wait_live(*walkers)  # so that the silence below is all spent in their live reads
    gevent.sleep(QUIET_S)  # a quiet session: no scan at all
    pub = DataPublisher(redis_client)
    pub.create_node(SCAN, "scan", {"scan_nb": 1, "state": "RUNNING"}, parent="demo")
    diode = pub.create_channel(SCAN + ":diode", parent=SCAN)
    diode.append(np.array([1.5]))
    pub.flush()
    gevent.sleep(QUIET_S)  # a point that takes longer than any client timeout
    diode.append(np.array([2.5]))
    pub.update_info(SCAN, {"state": "DONE"})
    pub.end_scan(SCAN)
    pub.close()

    with gevent.Timeout(20):
        followers[1].get()
        lines = []
        while not lines or "END_SCAN" not in lines[-1]:
            line = listener.stdout.readline()
            assert line, listener.stderr.read()
            lines.append(line)
    listener.send_signal(signal.SIGINT)
    assert listener.wait(10) == 0
    followers[0].kill()
    assert [line.split()[1] for line in lines] == [
        "NEW_NODE",
        "NEW_NODE",
        "NEW_DATA",
        "NEW_DATA",
        "END_SCAN",
    ]
    for events in (default_events, short_events):
        data = [values for event, name, values in events if event is Event.NEW_DATA]
        assert data == [[1.5], [2.5]]
        assert events[-1][:2] == (Event.END_SCAN, SCAN)


@pytest.fixture
def own_redis(tmp_path):
    with PrivateRedis(tmp_path) as server:
        yield server


def test_a_follower_tells_a_dead_server_from_silence(own_redis, wait_live):
    walker = get_session_node("demo", connection=connect(own_redis.url)).walk_events()
    follower = gevent.spawn(collect, walker, [])
    wait_live(walker)  # the server dies while the follower reads live, not while it starts
    os.kill(own_redis.pid, signal.SIGKILL)
    own_redis.process.wait()
    with gevent.Timeout(15), pytest.raises(RedisUnreachable) as info:
        follower.get()
    message = str(info.value)
    assert own_redis.url in message and "\n" not in message


def test_a_follower_without_a_server_says_so(tmp_path):
    url = f"unix://{tmp_path}/nothing.sock"
    with pytest.raises(RedisUnreachable, match="Redis not reachable at " + url):
        list(get_session_node("demo", redis_url=url).walk_events())
