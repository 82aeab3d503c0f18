"""A walker with a read interval: while data flow, one read takes every batch written since
the last, rather than one read per batch; the first batch after a quiet spell comes at once."""

import gevent
import gevent.queue
import numpy as np
import pytest

from beamshell.data.events import Event
from beamshell.data.node import get_session_node
from beamshell.data.publish import DataPublisher

SCAN = "demo:tmp:scans:1_loopscan"


@pytest.fixture
def publisher(redis_client):
    pub = DataPublisher(redis_client, expiration=300, flush_delay=0)
    yield pub
    pub.close(flush=False)


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
        for event, node, data in self.walker:
            if event is Event.NEW_DATA:
                self.data.put(data)

    def wait_live(self):
        """Until the walker has read what existed and reads live (its XREAD) from now on."""
        with gevent.Timeout(30, AssertionError("the walker never went live")):
            while not self.walker.live:
                gevent.sleep(0.005)

    def next_data(self):
        with gevent.Timeout(30, AssertionError("no data came")):
            return self.data.get()

    def close(self):
        self.walker.stop()
        self.greenlet.kill()  # also from a pause between reads


def write_batch(publisher, channel, start):
    """Three points, in a transaction of their own, answered by Redis when this returns."""
    channel.append(np.arange(start, start + 3, dtype=float))
    publisher.flush()


def test_batches_written_during_the_interval_come_in_one_read(redis_client, publisher, diode):
    reader = Reader(redis_client, read_interval=1.5)
    try:
        reader.wait_live()
        write_batch(publisher, diode, 0)
        first = reader.next_data()
        assert (first.first_index, list(first.data)) == (0, [0.0, 1.0, 2.0])
        # Answered just now: the walker's next read waits 1.5 s, so these three
        # transactions, written meanwhile, come in its one reply.
        for start in (3, 6, 9):
            write_batch(publisher, diode, start)
        rest = reader.next_data()
        assert rest.first_index == 3
        assert list(rest.data) == [float(i) for i in range(3, 12)]
    finally:
        reader.close()


def test_the_first_batch_after_a_quiet_spell_comes_at_once(redis_client, publisher, diode):
    # An interval longer than the test waits for data: only a read made at once passes.
    reader = Reader(redis_client, read_interval=120)
    try:
        reader.wait_live()
        write_batch(publisher, diode, 0)
        data = reader.next_data()
        assert (data.first_index, list(data.data)) == (0, [0.0, 1.0, 2.0])
    finally:
        reader.close()
