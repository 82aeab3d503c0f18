"""Redis going away while a scan publishes: a clear error naming the URL, raised to the scan."""

import os
import signal

import gevent
import numpy as np
import pytest
import redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from beamshell.config.redis_server import PrivateRedis
from beamshell.data.errors import DataPublishError
from beamshell.data.publish import DataPublisher
from beamshell.errors import BeamshellError


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test alone, so that it can be killed."""
    with PrivateRedis(tmp_path) as server:
        yield server.process, server.url
        server.kill()


def start_scan(url):
    pub = DataPublisher(redis.Redis.from_url(url))
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {"state": "RUNNING"}, parent="demo")
    chan = pub.create_channel(scan + ":diode", parent=scan)
    return pub, scan, chan


def kill(process):
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_redis_killed_during_a_scan_gives_a_clear_error_on_the_next_call(own_redis):
    process, url = own_redis
    pub, scan, chan = start_scan(url)
    for i in range(5):
        chan.append(np.array([float(i)]))
        gevent.sleep(0.01)
    pub.flush()
    assert chan.written == 5
    kill(process)
    chan.append(np.array([5.0]))  # pending: the background writer fails on it
    # Mostly the background writer fails first and the next call reports it; if it has not
    # run yet, that call's own write fails the same way: the outcome is the same.
    gevent.sleep(0.2)
    with pytest.raises(DataPublishError) as info:
        chan.append(np.array([6.0]))
    message = str(info.value)
    assert isinstance(info.value, BeamshellError)
    assert url in message and "\n" not in message
    assert "not published" in message and "no partial batch" in message
    assert chan.written == 5  # the failed batch is not counted as written
    # The publisher stays failed: the scan's end and abort paths get the same error.
    with pytest.raises(DataPublishError, match=url):
        pub.update_info(scan, {"state": "ABORTED"})
    with pytest.raises(DataPublishError, match=url):
        pub.end_scan(scan)
    pub.close()  # already reported: close() in a `finally` does not hide the first error


def test_redis_killed_before_end_scan_is_raised_by_end_scan(own_redis):
    process, url = own_redis
    pub, scan, chan = start_scan(url)
    chan.append(np.arange(3.0))
    kill(process)
    with pytest.raises(DataPublishError, match=f"Redis not reachable at {url}"):
        pub.end_scan(scan)
    with pytest.raises(DataPublishError):
        pub.flush()


def test_a_flush_that_waits_during_a_failing_write_gets_the_error(own_redis):
    """end_scan used to hang forever when it began waiting while the background writer
    was already writing the batch that failed (a busy machine makes that likely)."""
    process, url = own_redis
    client = redis.Redis.from_url(url, retry=Retry(ConstantBackoff(0.2), 1))
    pub = DataPublisher(client, flush_delay=60)  # only explicit flushes write
    scan = pub.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")
    chan = pub.create_channel(scan + ":diode", parent=scan)
    chan.append(np.arange(3.0))
    kill(process)
    first = gevent.spawn(pub.flush)
    gevent.idle()  # the writer is inside the failing write, waiting to retry
    with gevent.Timeout(10), pytest.raises(DataPublishError, match=url):
        pub.end_scan(scan)
    with gevent.Timeout(10), pytest.raises(DataPublishError, match=url):
        first.get()


def test_unreported_error_is_raised_by_close(own_redis):
    process, url = own_redis
    pub, _, chan = start_scan(url)
    kill(process)
    chan.append(1.0)
    gevent.sleep(0.2)  # as above: failed in the background, or by close's own flush
    with pytest.raises(DataPublishError, match=url):
        pub.close()
    pub.close()


def test_node_creation_without_redis_names_the_url(own_redis):
    process, url = own_redis
    pub = DataPublisher(redis.Redis.from_url(url))
    kill(process)
    with pytest.raises(DataPublishError, match=url):
        pub.create_node("demo:tmp:scans:1_loopscan", "scan", {}, parent="demo")


def test_reader_losing_redis_gets_a_clear_error(own_redis):
    from beamshell.data.node import get_session_node

    process, url = own_redis
    walker = get_session_node("demo", redis_url=url).walk_events()
    gevent.spawn_later(0.2, kill, process)
    with gevent.Timeout(10), pytest.raises(BeamshellError, match=f"Redis not reachable at {url}"):
        list(walker)
