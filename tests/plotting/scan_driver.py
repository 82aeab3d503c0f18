"""Run in a session with `beamshell -s demo --script`: one scan the plot tests steer.

Environment: PLOT_TEST_SCAN (a scan command, evaluated in the session's namespace with
run=False), PLOT_TEST_PAUSE_AT (before that point, wait until the test pushes to the Redis
list PLOT_TEST_GATE), PLOT_TEST_FAIL_AT (raise before that point: the scan aborts),
PLOT_TEST_OUT (where the scan's data go, as JSON, once it has ended).
"""

import json
import os

import redis

from beamshell.scanning.chain import ChainIterationPreset, ChainPreset

command = os.environ["PLOT_TEST_SCAN"]
pause_at = int(os.environ.get("PLOT_TEST_PAUSE_AT", "-1"))
fail_at = int(os.environ.get("PLOT_TEST_FAIL_AT", "-1"))
gate = os.environ.get("PLOT_TEST_GATE", "")
gate_client = redis.Redis.from_url(os.environ["BEAMSHELL_REDIS_URL"])


class Gate(ChainPreset):
    """Holds the scan before point `pause_at` until the test says go; fails at `fail_at`."""

    class Point(ChainIterationPreset):
        def __init__(self, index):
            self.index = index

        def prepare(self):
            if self.index == pause_at:
                print(f"PAUSED AT {self.index}", flush=True)
                gate_client.blpop([gate], timeout=60)
            if self.index == fail_at:
                raise RuntimeError(f"failing on purpose before point {self.index}")

    def get_iterator(self, acq_chain):
        index = 0
        while True:
            yield Gate.Point(index)
            index += 1


scan = eval(
    command
)  # the test's own command line, e.g. "ascan(m1, 0, 1, 9, 0.01, gauss, run=False)"
scan.acq_chain.add_preset(Gate())
try:
    scan.run()
except RuntimeError as exc:
    print(f"SCAN FAILED: {exc}", flush=True)
data = scan.get_data()
with open(os.environ["PLOT_TEST_OUT"], "w") as out:
    json.dump(
        {
            "node": scan.node_name,
            "state": scan.state.name,
            "data": {c.name: data[c.name].tolist() for c in scan.channels if not c.shape},
        },
        out,
    )
print("SCAN ENDED", scan.state.name, flush=True)
