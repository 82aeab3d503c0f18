"""Test driver: publish a running scan that holds a lease, say so, then wait to be killed.

Usage: hold_lease.py SESSION LEASE_SECONDS (Redis from BEAMSHELL_REDIS_URL).
"""

from gevent import monkey

monkey.patch_all(thread=False)

import os  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import numpy as np  # noqa: E402

from beamshell.data.connection import reader_connection  # noqa: E402
from beamshell.data.lease import ScanLease  # noqa: E402
from beamshell.data.publish import DataPublisher  # noqa: E402


def main() -> None:
    session, lease_time = sys.argv[1], float(sys.argv[2])
    client = reader_connection(os.environ["BEAMSHELL_REDIS_URL"])
    publisher = DataPublisher(client)
    scan = publisher.create_node(
        f"{session}:tmp:scans:1_timescan", "scan", {"state": "RUNNING"}, parent=session
    )
    master = publisher.create_node(scan + ":timer", "master", {}, parent=scan)
    channel = publisher.create_channel(master + ":diode", parent=master)
    ScanLease(client, scan, lease_time).acquire()
    channel.append(np.arange(3.0))
    publisher.flush()
    print("running", os.getpid(), flush=True)
    while True:  # a scan that never ends by itself: only kill -9 stops it
        gevent.sleep(0.1)


if __name__ == "__main__":
    main()
