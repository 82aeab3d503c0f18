"""A minimal daemon for the tests of config.daemon: holds its lock until SIGTERM."""

import argparse
import signal
import sys
import threading
from pathlib import Path

from beamshell.config.daemon import DaemonAlreadyRunning, SessionDaemon, signal_ready

parser = argparse.ArgumentParser()
parser.add_argument("action")
parser.add_argument("-s", dest="session")
parser.add_argument("--config")
parser.add_argument("--ready-fd", type=int)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()
if args.fail:
    print("sample daemon: failing on purpose", file=sys.stderr)
    sys.exit(3)
daemon = SessionDaemon("sample", "sample_daemon", args.session, Path(args.config))
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
try:
    with daemon.hold({"answer": 42}):
        signal_ready(args.ready_fd)
        stop.wait()
except DaemonAlreadyRunning as exc:
    print(exc, file=sys.stderr)
    sys.exit(4)
