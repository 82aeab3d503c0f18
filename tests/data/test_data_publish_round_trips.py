"""What a scan's publisher sends without a round trip of its own: queued info updates, a
lease taken with the nodes and dropped with END_SCAN, expirations renewed only when due."""

import json

import numpy as np

from beamshell.data import publish
from beamshell.data.lease import ScanLease
from beamshell.data.node import get_node


def new_scan(pub, number=1):
    scan = pub.create_node(
        f"demo:tmp:scans:{number}_loopscan", "scan", {"state": "IDLE"}, parent="demo"
    )
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    channel = pub.create_channel(master + ":diode", parent=master)
    return scan, channel


def commands(client, name):
    """How many `name` commands the server has run since its statistics were reset."""
    return client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0)


def test_queued_info_is_written_in_order_before_the_points_that_follow(publisher, redis_client):
    scan, channel = new_scan(publisher)
    redis_client.config_resetstat()  # a round trip: lets the writer run, before the queueing
    publisher.queue_info(scan, {"state": "PREPARING"})
    publisher.queue_info(scan, {"state": "RUNNING", "npoints": 3})
    channel.append(np.arange(3.0))
    publisher.flush()
    # One transaction: the info first, then the points.
    assert commands(redis_client, "exec") == 1
    assert get_node(scan, connection=redis_client).info["state"] == "RUNNING"
    assert get_node(scan, connection=redis_client).info["npoints"] == 3
    assert list(get_node(channel.db_name, connection=redis_client).get(0, -1)) == [0, 1, 2]


def test_queued_info_never_overwrites_a_node_that_has_ended(publisher, redis_client):
    """A state queued before a stall must not replace the KILLED a reader wrote meanwhile."""
    scan, _ = new_scan(publisher)
    redis_client.hset(scan + "_info", "state", json.dumps("KILLED"))
    redis_client.xadd(scan + "_children", {"e": "end", "t": "0"})  # as end_abandoned does
    publisher.queue_info(scan, {"state": "RUNNING"})
    publisher.flush()
    assert get_node(scan, connection=redis_client).info["state"] == "KILLED"


def test_the_pipeline_of_together_carries_the_callers_commands(publisher, redis_client):
    redis_client.config_resetstat()
    with publisher.together() as transaction:
        scan, _ = new_scan(publisher)
        lease = ScanLease(redis_client, scan, lease_time=5)
        lease.queue_acquire(transaction)
    lease.start_renewing()
    assert commands(redis_client, "exec") == 1
    assert redis_client.exists(scan + "_lease")
    node = redis_client.hgetall(scan + "_node")
    assert node[b"type"] == b"scan" and node[b"lease"] == b"5"
    lease.release()
    assert not redis_client.exists(scan + "_lease")


def test_a_lease_dropped_with_end_scan_goes_in_its_transaction_and_only_once(
    publisher, redis_client
):
    scan, channel = new_scan(publisher)
    lease = ScanLease(redis_client, scan, lease_time=5)
    lease.acquire()
    channel.append(np.arange(2.0))
    publisher.flush()
    redis_client.config_resetstat()
    publisher.end_scan(scan, {"state": "DONE"}, then=lease.release)
    lease.release()  # what a `finally` does: nothing more is sent
    assert commands(redis_client, "exec") == 1
    assert commands(redis_client, "del") == 1
    assert not redis_client.exists(scan + "_lease")
    entries = redis_client.xrange(scan + "_children")
    assert entries[-1][1][b"e"] == b"end"


def test_end_scan_renews_expirations_only_of_keys_older_than_a_refresh(
    publisher, redis_client, monkeypatch
):
    scan, channel = new_scan(publisher, 1)
    channel.append(np.arange(2.0))
    publisher.flush()
    redis_client.expire(scan + "_info", 10)
    publisher.end_scan(scan, {"state": "DONE"})
    assert redis_client.ttl(scan + "_info") <= 10  # created a moment ago: left as it is

    monkeypatch.setattr(publish, "EXPIRE_REFRESH_S", 0.0)  # as if created long ago
    older, channel = new_scan(publisher, 2)
    redis_client.expire(older + "_info", 10)
    redis_client.expire(channel.db_name + "_node", 10)
    publisher.end_scan(older, {"state": "DONE"})
    assert redis_client.ttl(older + "_info") > 250
    assert redis_client.ttl(channel.db_name + "_node") > 250
