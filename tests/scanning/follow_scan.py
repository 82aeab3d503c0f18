"""Test reader: follow one scan of a session in its own process, as an analysis script would.

Prints "READY" once it is following, then at the scan's END_SCAN one JSON line per channel:
its points, whether every batch began where the previous one ended (each point once, in
order), and a digest of all its bytes, for the test to compare with the scan's memory.
"""

import hashlib
import json
import sys

from beamshell.data.node import Event, get_session_node


def main() -> None:
    session, redis_url = sys.argv[1], sys.argv[2]
    walker = get_session_node(session, redis_url=redis_url).walk_events(
        include_filter=["scan", "channel"], stop_on_end=True
    )
    print("READY", flush=True)
    channels: dict[str, dict] = {}
    for event, node, data in walker:
        if event == Event.NEW_DATA:
            state = channels.setdefault(
                node.name, {"points": 0, "in_order": True, "digest": hashlib.sha1()}
            )
            if data.first_index != state["points"]:
                state["in_order"] = False
            state["points"] += len(data.data)
            state["digest"].update(data.data.tobytes())
    for name, state in channels.items():
        line = {"channel": name, "points": state["points"], "in_order": state["in_order"]}
        print(json.dumps({**line, "digest": state["digest"].hexdigest()}), flush=True)


if __name__ == "__main__":
    main()
