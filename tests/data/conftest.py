"""Fixtures of the data-layer tests."""

import gevent
import pytest

from beamshell.data.publish import DataPublisher


@pytest.fixture
def publisher(redis_client):
    """A publisher that writes at once (no flush delay); what is left unwritten is dropped."""
    pub = DataPublisher(redis_client, expiration=300, flush_delay=0)
    yield pub
    pub.close(flush=False)


def _wait_live(*walkers) -> None:
    with gevent.Timeout(30, AssertionError("a walker never went live")):
        while not all(walker.live for walker in walkers):
            gevent.sleep(0.005)


@pytest.fixture
def wait_live():
    """`wait_live(*walkers)`: until each walker, iterated in another greenlet, has read what
    existed and reads live (its XREAD) from now on. The timeout guards hangs."""
    return _wait_live
