"""A separate process following a session's sequences through beamshell.data only."""

import sys
import time

from beamshell.data.node import Event, get_session_node

session = get_session_node(sys.argv[1])
print("ready", flush=True)
for event, node, data in session.walk_events(
    include_filter=["scan_group", "node_ref_channel"], timeout=30
):
    if event == Event.NEW_DATA and node.type == "node_ref_channel":
        for ref in data.data:
            print("ref", time.time(), ref.db_name, flush=True)
    elif event == Event.END_SCAN and node.type == "scan_group":
        print("end", node.info["state"], flush=True)
        break
loaded = [name for name in sys.modules if name.startswith("beamshell.")]
print("modules", " ".join(sorted(loaded)), flush=True)
