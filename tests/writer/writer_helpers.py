"""What the writer tests share: the session's configuration, the writer's events, entry dumps."""

from __future__ import annotations

import json

import gevent
import redis

from beamshell.data import writer_status

SESSION = "wsession"

CONFIG = """\
- controller:
    class: mockup
    axes:
      - {name: m1, velocity: 200, acceleration: 4000, steps_per_unit: 1000,
         low_limit: -100, high_limit: 100, unit: mm}
      - {name: m2, velocity: 200, acceleration: 4000, steps_per_unit: 1000}
      - {name: m3, velocity: 200, acceleration: 4000, steps_per_unit: 1000, unit: deg}
- {name: diode, class: simulation_diode, unit: mV}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: gauss, class: simulation_gaussian, axis: $m1, center: 0.5, fwhm: 1, height: 100}
- {name: stats, class: simulation_diode, mode: STATS, level: 50}
- {name: mca, class: simulation_mca, size: 8}
- {name: MG1, class: MeasurementGroup, counters: [$diode, $diode2]}
- name: wsession
  class: Session
  scan-saving: {base_path: BASE}
"""


class WriterEvents:
    """What the writer reported in Redis, read with blocking XREADs."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.after = "0-0"
        self.events: list[dict] = []

    def forget(self) -> None:
        """From now on, only what the writer says after this call counts."""
        self.events.clear()
        self.after = writer_status.last_event_id(self.client, SESSION)

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        """The first event (old or new) for which predicate(event) is true."""
        for event in self.events:
            if predicate(event):
                return event
        with gevent.Timeout(timeout, AssertionError(f"writer events so far: {self.events}")):
            while True:
                for event_id, event in writer_status.read_events(self.client, SESSION, self.after):
                    self.after = event_id
                    self.events.append(event)
                    if predicate(event):
                        return event

    def saved(self, scan, timeout: float = 60) -> dict:
        """Wait until the writer says that `scan` (a Scan, a Group/Sequence) is saved."""
        db_name = scan.node.db_name if hasattr(scan.node, "db_name") else scan.node
        return self.wait_for(
            lambda e: e["kind"] in ("saved", "recovered") and e.get("scan") == db_name, timeout
        )


def dump_entry(group) -> dict:
    """Everything of an entry that must not depend on when or how often it was written."""
    import h5py
    import numpy as np

    result = {}

    def visit(name, obj):
        attrs = {k: _plain(v) for k, v in obj.attrs.items() if k not in ("file_time",)}
        if isinstance(obj, h5py.Dataset):
            value = obj[()]
            if isinstance(value, np.ndarray):
                result[name] = (str(value.dtype), value.shape, value.tolist(), attrs)
            else:
                result[name] = (str(obj.dtype), obj.shape, _plain(value), attrs)
        else:
            result[name] = ("group", attrs)

    group.visititems(visit)
    result["."] = ("group", {k: _plain(v) for k, v in group.attrs.items()})
    return json.loads(json.dumps(result, default=str))


def _plain(value):
    import numpy as np

    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value
