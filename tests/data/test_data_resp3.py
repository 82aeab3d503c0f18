"""Readers on a RESP3 client (`?protocol=3` in the URL): XREAD answers with a mapping, in
redis-py's legacy shape ({key: [[entries]]}) or its new one ({key: [entries]})."""

import gevent
import numpy as np
import pytest
import redis

from beamshell.data import writer_status
from beamshell.data.events import Event
from beamshell.data.node import get_session_node
from beamshell.data.publish import DataPublisher

SCAN = "demo:tmp:scans:1_loopscan"
RESP3 = [{"protocol": 3}, {"protocol": 3, "legacy_responses": False}]


@pytest.fixture(params=RESP3, ids=["resp3-legacy", "resp3"])
def resp3_client(redis_url, request):
    try:
        client = redis.Redis.from_url(redis_url, **request.param)
    except TypeError:  # legacy_responses: redis-py 8 and later
        pytest.skip(f"this redis-py has no {request.param}")
    yield client
    client.close()


def test_a_walker_on_a_resp3_client_follows_points_published_live(redis_client, resp3_client):
    publisher = DataPublisher(redis_client, expiration=300, flush_delay=0)
    scan = publisher.create_node(SCAN, "scan", {"state": "RUNNING"}, parent="demo")
    master = publisher.create_node(scan + ":timer", "master", {}, parent=scan)
    diode = publisher.create_channel(master + ":diode", parent=master)
    walker = get_session_node("demo", connection=resp3_client).walk_events(timeout=30)
    events = iter(walker)
    try:
        with gevent.Timeout(30, AssertionError("the channel was never announced")):
            for event, node, _ in events:
                if event is Event.NEW_NODE and node.name == "diode":
                    break
        # The walk has caught up: these points come through XREAD.
        diode.append(np.array([1.0, 2.0, 3.0]))
        publisher.flush()
        with gevent.Timeout(30, AssertionError("the points never came")):
            event, node, data = next(e for e in events if e[0] is Event.NEW_DATA)
        assert node.name == "diode" and data.first_index == 0
        assert data.data.tolist() == [1.0, 2.0, 3.0]
    finally:
        walker.stop()
        publisher.close(flush=False)


def test_writer_events_read_on_a_resp3_client(redis_client, resp3_client):
    writer_status.WriterVoice(redis_client, "demo").report(writer_status.SAVED, "scan 1 saved")
    (entry_id, event), *_ = writer_status.read_events(resp3_client, "demo", "0-0", block_s=None)
    assert event["kind"] == writer_status.SAVED and event["message"] == "scan 1 saved"
    assert writer_status.read_events(resp3_client, "demo", entry_id, block_s=0.01) == []
