"""A walker with a read interval: while data flow, one read takes every batch written since
the last, rather than one read per batch; the first batch after a quiet spell comes at once."""

import gevent
import gevent.queue
import numpy as np
import pytest

from beamshell.data.events import Event
from beamshell.data.node import get_session_node

SCAN = "demo:tmp:scans:1_loopscan"


@pytest.fixture
def diode(publisher):
    scan = publisher.create_node(SCAN, "scan", {"state": "RUNNING"}, parent="demo")
    master = publisher.create_node(scan + ":timer", "master", {}, parent=scan)
    return publisher.create_channel(f"{master}:diode", parent=master)


class Reader:
    """A walker in a greenlet, started once the scan's nodes exist; its data in a queue."""

    def __init__(self, redis_client, read_interval):
        session = get_session_node("demo", connection=redis_client)
        self.walker = session.walk_events(read_interval=read_interval, timeout=60)
        self.data = gevent.queue.Queue()
        self.greenlet = gevent.spawn(self._run)

    def _run(self):
        for event, _, data in self.walker:
            if event is Event.NEW_DATA:
                self.data.put(data)

    def next_points(self):
        """(first index, values) of the next NEW_DATA."""
        with gevent.Timeout(30, AssertionError("no data came")):
            data = self.data.get()
        return data.first_index, list(data.data)

    def close(self):
        self.walker.stop()
        self.greenlet.kill()  # also from a pause between reads


@pytest.fixture
def live_reader(redis_client, diode, wait_live):
    """start(read_interval): a Reader reading live; stopped at the end of the test."""
    readers = []

    def start(read_interval):
        reader = Reader(redis_client, read_interval)
        readers.append(reader)
        wait_live(reader.walker)
        return reader

    yield start
    for reader in readers:
        reader.close()


def write_batch(publisher, channel, start):
    """Three points, in a transaction of their own, answered by Redis when this returns."""
    channel.append(np.arange(start, start + 3, dtype=float))
    publisher.flush()


def test_batches_written_during_the_interval_come_in_one_read(publisher, diode, live_reader):
    reader = live_reader(1.5)
    write_batch(publisher, diode, 0)
    assert reader.next_points() == (0, [0.0, 1.0, 2.0])
    # Answered just now: the walker's next read waits 1.5 s, so these three transactions,
    # written meanwhile, come in its one reply.
    for start in (3, 6, 9):
        write_batch(publisher, diode, start)
    assert reader.next_points() == (3, [float(i) for i in range(3, 12)])


def test_the_first_batch_after_a_quiet_spell_comes_at_once(publisher, diode, live_reader):
    # An interval longer than the test waits for data: only a read made at once passes.
    reader = live_reader(120)
    write_batch(publisher, diode, 0)
    assert reader.next_points() == (0, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "0.1"])
def test_a_bad_read_interval_is_refused_when_the_walker_is_made(redis_client, bad):
    session = get_session_node("demo", connection=redis_client)
    with pytest.raises(ValueError, match=r"^read_interval must be seconds >= 0, not "):
        session.walk_events(read_interval=bad)
