"""Run the writer exactly as `beamshell writer run` does, then report the modules it imported.

The writer must follow a session through beamshell.data alone: at exit this prints the
shell, hardware, scanning or sessions modules found in sys.modules (none, if all is well).
"""

import json
import sys

from beamshell.writer.process import main

FORBIDDEN = ("beamshell.shell", "beamshell.hardware", "beamshell.scanning", "beamshell.sessions")

status = main(sys.argv[1:])
forbidden = sorted(m for m in sys.modules if m.startswith(FORBIDDEN))
print(json.dumps({"status": status, "forbidden": forbidden}), flush=True)
