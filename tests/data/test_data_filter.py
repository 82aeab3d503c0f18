"""A walker that reads some channels only: the others announced, read from their first
point once asked for, during the scan or just before its end."""

import gevent
import gevent.queue
import numpy as np
import pytest

from beamshell.data.events import Event
from beamshell.data.node import get_session_node

SCAN = "demo:tmp:scans:1_loopscan"


def new_scan(pub):
    scan = pub.create_node(SCAN, "scan", {"state": "RUNNING"}, parent="demo")
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    return {
        name: pub.create_channel(f"{master}:{name}", parent=master)
        for name in ("elapsed", "diode", "beam")
    }


class Reader:
    """A walker in a greenlet that reads `elapsed` only, until asked; its events in a queue."""

    def __init__(self, redis_client):
        session = get_session_node("demo", connection=redis_client)
        self.walker = session.walk_events(
            data_filter=lambda node: node.name == "elapsed", timeout=30
        )
        self.events = gevent.queue.Queue()
        self.greenlet = gevent.spawn(self._run)

    def _run(self):
        for event, node, data in self.walker:
            self.events.put((event, node.name, data))

    def next(self, kind):
        """The next event of this kind (others skipped), as (name, data)."""
        with gevent.Timeout(30, AssertionError(f"no {kind} came")):
            while True:
                event, name, data = self.events.get()
                if event is kind:
                    return name, data

    def close(self):
        self.walker.stop()
        self.greenlet.join(10)


@pytest.fixture
def reader(redis_client):
    found = Reader(redis_client)
    yield found
    found.close()


def test_a_refused_channel_is_announced_and_read_from_its_first_point_once_wanted(
    publisher, reader
):
    channels = new_scan(publisher)
    announced = {reader.next(Event.NEW_NODE)[0] for _ in range(5)}  # scan, master, 3 channels
    assert {"elapsed", "diode", "beam"} <= announced
    for start in (0, 3):
        for index, channel in enumerate(channels.values()):
            channel.append(np.arange(start, start + 3) + 100.0 * index)
        publisher.flush()
        name, data = reader.next(Event.NEW_DATA)
        assert name == "elapsed" and data.first_index == start  # the others are not read
    assert reader.walker.want_data(channels["diode"].db_name)
    name, data = reader.next(Event.NEW_DATA)
    assert name == "diode" and data.first_index == 0
    assert data.data.tolist() == [100, 101, 102, 103, 104, 105]
    channels["diode"].append(np.array([106.0]))
    channels["elapsed"].append(np.array([6.0]))
    publisher.flush()
    got = dict(reader.next(Event.NEW_DATA) for _ in range(2))
    assert got["diode"].data.tolist() == [106] and got["elapsed"].data.tolist() == [6]
    assert not reader.walker.want_data(channels["diode"].db_name)  # read already


def test_a_channel_wanted_just_before_the_end_is_drained_with_the_others(publisher, redis_client):
    """Asked for while the walker is between the scan's last points and its end, in one
    read: the end reads it whole before END_SCAN, and later asks are refused."""
    channels = new_scan(publisher)
    session = get_session_node("demo", connection=redis_client)
    walker = session.walk_events(data_filter=lambda node: node.name == "elapsed", timeout=30)
    events = iter(walker)

    def next_data():
        for event, node, data in events:
            if event is not Event.NEW_NODE:
                return event, node.name, data
        raise AssertionError("the walk ended")

    for channel in channels.values():
        channel.append(np.arange(4.0))
    publisher.flush()
    event, name, data = next_data()
    assert (event, name, data.first_index) == (Event.NEW_DATA, "elapsed", 0)
    channels["elapsed"].append(np.array([4.0]))
    publisher.update_info(SCAN, {"state": "DONE"})
    publisher.end_scan(SCAN)  # the last points and the end: read by the walker in one XREAD
    event, name, data = next_data()
    assert (event, name, data.first_index) == (Event.NEW_DATA, "elapsed", 4)
    assert walker.want_data(channels["beam"].db_name)
    event, name, data = next_data()
    assert (event, name, data.data.tolist()) == (Event.NEW_DATA, "beam", [0, 1, 2, 3])
    event, name, _ = next_data()
    assert (event, name) == (Event.END_SCAN, "1_loopscan")
    # Its scan has ended: the walker holds no unread channel (its points are all in Redis).
    assert not walker.want_data(channels["diode"].db_name)
    walker.stop()


def test_stop_still_ends_a_walker_woken_by_want_data(publisher, reader):
    channels = new_scan(publisher)
    while reader.next(Event.NEW_NODE)[0] != "beam":
        pass
    assert reader.walker.want_data(channels["beam"].db_name)
    reader.walker.stop()
    reader.greenlet.join(10)
    assert reader.greenlet.dead
