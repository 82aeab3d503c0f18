"""Fixtures of the data-layer tests."""

import pytest

from beamshell.data.publish import DataPublisher


@pytest.fixture
def publisher(redis_client):
    """A publisher that writes at once (no flush delay); what is left unwritten is dropped."""
    pub = DataPublisher(redis_client, expiration=300, flush_delay=0)
    yield pub
    pub.close(flush=False)
