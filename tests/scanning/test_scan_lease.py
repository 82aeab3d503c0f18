"""Scans and sequences hold a lease in Redis while they run (see beamshell.data.lease)."""

import os
import sys
from pathlib import Path

import gevent
import pytest

from beamshell.data.lease import end_abandoned
from beamshell.scanning.group import Sequence
from beamshell.scanning.publishing import ScanPublishError
from beamshell.scanning.scan import ScanPreset, ScanState
from beamshell.scanning.scans import loopscan

END_EXPIRED_SCAN = Path(__file__).with_name("end_expired_scan.py")


def test_a_scan_holds_its_lease_while_it_runs_and_gives_it_up_after_its_end(
    publishing_env, devices, redis_client
):
    seen = {}

    class Look(ScanPreset):
        def start(self, scan):
            seen["ttl"] = redis_client.pttl(scan.node_name + "_lease")
            seen["mark"] = redis_client.hget(scan.node_name + "_node", "lease")

    scan = loopscan(3, 0, devices.diode, run=False)
    scan.add_preset(Look())
    scan.run()
    assert 0 < seen["ttl"] <= publishing_env.lease_time * 1000
    assert seen["mark"] == b"10"
    assert not redis_client.exists(scan.node_name + "_lease")
    assert end_abandoned(redis_client, [scan.node_name]) == []  # ended: left alone


def test_a_sequence_holds_a_lease_too(publishing_env, devices, redis_client):
    seq = Sequence()
    with seq.sequence_context() as context:
        group = seq._publication.db_name
        assert redis_client.exists(group + "_lease")
        context.add_and_run(loopscan(2, 0, devices.diode, run=False))
    assert not redis_client.exists(group + "_lease")


def test_a_stalled_scan_that_a_reader_ended_stops_with_one_line(
    publishing_env, devices, redis_client
):
    publishing_env.lease_time = 0.2

    class Stall(ScanPreset):
        def start(self, scan):
            # The whole process stalls (os.system blocks it, greenlets included: nothing
            # renews the lease) while a follower in another process waits for the lease to
            # expire and ends the scan. A follower in this process would race with the
            # lease's renewer, which wakes up as soon as the stall ends.
            status = os.system(f"{sys.executable} {END_EXPIRED_SCAN} {scan.node_name}")
            assert status == 0, "the follower did not end the scan"
            lease = scan._publisher._lease
            with gevent.Timeout(30):  # a guard: the renewer runs every 50 ms
                while not lease.lost:
                    gevent.sleep(0.01)  # until the writer's renewer has seen the end

    scan = loopscan(1000, 0.01, devices.diode, run=False)
    scan.add_preset(Stall())
    with pytest.raises(ScanPublishError) as info:
        scan.run()
    assert str(info.value) == (
        f"scan {scan.node_name}: this process stalled for more than its 0.2 s lease, "
        "and a reader ended the scan KILLED"
    )
    assert scan.state is ScanState.ABORTED and scan.npoints_done < 1000
    node = scan.node
    assert node.info["state"] == "KILLED"  # what the reader wrote stays: one END only
    ends = [f for _, f in redis_client.xrange(scan.node_name + "_children") if f[b"e"] == b"end"]
    assert len(ends) == 1
