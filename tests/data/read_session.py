"""Test reader: follow a session through beamshell.data only, print one JSON line per event.

Run as a script (its own process, no gevent patching, as an analysis script would be). It
checks that the shell, hardware and scanning packages never get imported.
"""

import argparse
import json
import sys

from beamshell.data.node import Event, get_session_node

FORBIDDEN = ("beamshell.shell", "beamshell.hardware", "beamshell.scanning", "beamshell.sessions")


def forbidden_imports() -> list[str]:
    return sorted(m for m in sys.modules if m.startswith(FORBIDDEN))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session", default="demo")
    parser.add_argument("--no-wait", action="store_true")
    parser.add_argument("--scans", type=int, default=1, help="stop after this many END_SCAN")
    args = parser.parse_args()
    session = get_session_node(args.session)
    print(json.dumps({"ready": True}), flush=True)
    ends = 0
    walker = session.walk_events(wait=not args.no_wait)
    for event, node, data in walker:
        line = {"event": event.value, "db_name": node.db_name, "type": node.type}
        if event == Event.NEW_DATA:
            line["first"] = data.first_index
            line["last"] = data.last_index
            line["values"] = data.data.tolist()
            line["dtype"] = str(data.data.dtype)
        if event == Event.END_SCAN:
            line["state"] = node.info["state"]
            ends += 1
        print(json.dumps(line), flush=True)
        if ends >= args.scans:
            walker.stop()
    print(json.dumps({"forbidden": forbidden_imports()}), flush=True)


if __name__ == "__main__":
    main()
