"""Test driver: a follower in another process that ends a scan KILLED once its lease expired.

Usage: end_expired_scan.py DB_NAME (Redis from BEAMSHELL_REDIS_URL). It waits until the
lease key's own expiry time (the scan's process is stalled: nothing renews it), ends the
scan with `end_abandoned`, and exits 0 if it ended it, 1 otherwise.
"""

import os
import sys
import time

from beamshell.data.connection import reader_connection
from beamshell.data.keys import lease_key, prefix_of
from beamshell.data.lease import end_abandoned


def main() -> int:
    name = sys.argv[1]
    client = reader_connection(os.environ["BEAMSHELL_REDIS_URL"])
    key = lease_key(name, prefix_of(client))
    # PTTL says 0 in the key's last millisecond, while the key still exists (a scan ended
    # then would find it alive): wait until it is gone (-2), as Redis announced.
    while (left_ms := client.pttl(key)) >= 0:
        time.sleep(max(left_ms, 1) / 1000)
    if left_ms == -1:
        print(f"{key} has no expiry: not a lease", file=sys.stderr)
        return 1
    return 0 if end_abandoned(client, [name]) == [name] else 1


if __name__ == "__main__":
    sys.exit(main())
