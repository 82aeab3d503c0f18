"""Test driver: publish loopscan-like scans through DataPublisher, the way the scan engine will.

Run as a script (its own process). Each point: the counters integrate for count_time
(gevent.sleep), then one value per channel is appended. Prints "POINT <i>" after each point
and "DONE <db_name>" at the end, so that a test can start readers at a known moment. With
--hold-after N it stops after point N, everything written, until a line comes on stdin: the
test decides when the scan goes on, whatever the machine's speed.
"""

from gevent import monkey

monkey.patch_all(thread=False)

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import numpy as np  # noqa: E402
import redis  # noqa: E402

from beamshell.data.publish import DataPublisher  # noqa: E402

SCALARS = ("elapsed_time", "epoch", "diode", "diode2", "diode3")


def diode_value(channel: int, index: int) -> float:
    """A value the reader can check: channel and index are encoded in it."""
    return channel * 1000.0 + index + 0.25


def publish_scan(pub: DataPublisher, args: argparse.Namespace, scan_nb: int) -> str:
    session = args.session
    scan = pub.create_node(
        f"{session}:tmp:scans:{scan_nb}_loopscan",
        "scan",
        {
            "scan_nb": scan_nb,
            "title": f"loopscan {args.npoints} {args.count_time}",
            "type": "loopscan",
            "npoints": args.npoints,
            "count_time": args.count_time,
            "start_time": time.time(),
            "state": "RUNNING",
            "session": session,
            "user": "tester",
            "counters": list(SCALARS[2:]) + (["mca"] if args.mca_size else []),
            "axes": ["elapsed_time"],
        },
        parent=session,
    )
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    channels = [
        pub.create_channel(f"{master}:{name}", parent=master, dtype="float64", info={"unit": "s"})
        for name in SCALARS
    ]
    mca = None
    if args.mca_size:
        mca = pub.create_channel(
            f"{master}:mca", parent=master, dtype="uint32", shape=(args.mca_size,)
        )
    state = "DONE"
    for index in range(args.npoints):
        gevent.sleep(args.count_time)
        for number, channel in enumerate(channels):
            channel.append(np.array([diode_value(number, index)]))
        if mca is not None:
            mca.append(np.arange(args.mca_size, dtype=np.uint32)[None, :] * (index + 1))
        if index == args.hold_after:
            pub.flush()
        print(f"POINT {index}", flush=True)
        if index == args.hold_after:
            sys.stdin.readline()
        if args.abort_after is not None and index + 1 >= args.abort_after:
            state = "ABORTED"
            break
    pub.update_info(scan, {"state": state, "end_time": time.time()})
    pub.end_scan(scan)
    return scan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session", default="demo")
    parser.add_argument("--first-scan-nb", type=int, default=1)
    parser.add_argument("--nscans", type=int, default=1)
    parser.add_argument("--npoints", type=int, default=20)
    parser.add_argument("--count-time", type=float, default=0.02)
    parser.add_argument("--abort-after", type=int)
    parser.add_argument("--mca-size", type=int, default=0)
    parser.add_argument("--hold-after", type=int, help="after this point, wait for a line")
    args = parser.parse_args()
    pub = DataPublisher(redis.Redis.from_url(os.environ["BEAMSHELL_REDIS_URL"]))
    for scan_nb in range(args.first_scan_nb, args.first_scan_nb + args.nscans):
        print(f"DONE {publish_scan(pub, args, scan_nb)}", flush=True)
    pub.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
