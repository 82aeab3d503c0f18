"""A failing background greenlet is one line (its traceback kept), unless someone waits for it."""

from __future__ import annotations

import gevent
import gevent.event
import pytest
import redis

from beamshell.sessions.error_history import ErrorHistory
from beamshell.shell.background_errors import report_background_failures


def lose_redis(started: gevent.event.Event) -> None:
    started.set()  # whoever waits on this runs only after this greenlet has ended
    raise redis.ConnectionError("Error 111 connecting to /x/redis.sock. Connection refused.")


@pytest.fixture
def history():
    history = ErrorHistory(
        explain=lambda exc: (
            RuntimeError(f"explained: {exc}") if isinstance(exc, redis.ConnectionError) else None
        )
    )
    restore = report_background_failures(history)
    yield history
    restore()


def test_a_failure_nobody_waits_for_is_one_line_with_its_traceback_kept(history, capsys):
    started = gevent.event.Event()
    gevent.spawn(lose_redis, started)
    started.wait()
    err = capsys.readouterr().err
    assert err == (
        "!!! === background task lose_redis: RuntimeError: explained: Error 111 connecting to "
        "/x/redis.sock. Connection refused. === !!! ( for more details type cmd 'last_error()' )\n"
    )
    assert len(history) == 1 and "Traceback" in history.format_traceback()


def test_a_failure_someone_waits_for_is_left_to_the_waiter(history, capsys):
    started = gevent.event.Event()
    task = gevent.spawn(lose_redis, started)
    with pytest.raises(redis.ConnectionError):
        task.get()
    assert capsys.readouterr().err == "" and len(history) == 0


def test_restore_gives_gevent_its_own_report_back(capsys):
    history = ErrorHistory()
    report_background_failures(history)()
    started = gevent.event.Event()
    gevent.spawn(lose_redis, started)
    started.wait()
    assert "failed with ConnectionError" in capsys.readouterr().err and len(history) == 0
