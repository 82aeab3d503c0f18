"""Fixtures shared by every test: gevent patching, Ctrl-C as in a terminal, a real redis-server."""

import signal

from gevent import monkey

monkey.patch_all(thread=False)

# A job started in the background by a non-interactive shell (`make test &`, some CI
# runners) inherits SIGINT *ignored*; Python then installs no KeyboardInterrupt handler and
# every process it starts inherits the ignore too. The tests of Ctrl-C (a SIGINT to this
# process, to `beamshell listen`, to a shell in a pty) need what an operator's terminal
# gives: the default handler here, and so (a handled signal is reset by exec) the default
# disposition in every child.
signal.signal(signal.SIGINT, signal.default_int_handler)

import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import pytest  # noqa: E402
import redis  # noqa: E402

from beamshell.config.redis_server import PrivateRedis  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def state_home(tmp_path_factory):
    """Logs of detached processes (embedded Redis...) go to the run's temp dir, not ~/.local."""
    path = tmp_path_factory.mktemp("state")
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = saved


@pytest.fixture(autouse=True)
def user_directories(tmp_path, monkeypatch):
    """Data and state files of each test go under its tmp_path (after the run's own state
    directory above, which serves what starts before the tests). Sessions start no file
    writer unless a test asks for one (the writer's own tests).
    """
    monkeypatch.setenv("BEAMSHELL_WRITER_AUTOSTART", "0")
    for variable, name in (("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")):
        path = tmp_path / "xdg" / name
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(variable, str(path))
    return tmp_path / "xdg"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One private redis-server for the whole test run."""
    with PrivateRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server, monkeypatch):
    """URL of an emptied test Redis, also exported as BEAMSHELL_REDIS_URL for subprocesses."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    monkeypatch.setenv("BEAMSHELL_REDIS_URL", redis_server.url)
    return redis_server.url


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _browser_tests_note() -> str:
    """Whether tests/plotting can drive a real Chromium here (its tests skip otherwise)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return f"plot page browser tests: run with {chromium} and {driver}"
    return (
        "plot page browser tests: SKIPPED, no Chromium found "
        "(apt-get install chromium chromium-driver)"
    )


def pytest_report_header(config):
    return _browser_tests_note()


def pytest_terminal_summary(terminalreporter):
    note = _browser_tests_note()
    if "SKIPPED" in note:  # said again at the end, where it is seen
        terminalreporter.write_line(note, yellow=True, bold=True)


STRICT_ACL_RULE = "{user} on >{password} resetkeys ~{user}:* resetchannels +@all -@dangerous"


@pytest.fixture(scope="session")
def readme_acl_rule():
    """The ACL rule the README tells a site administrator to give a configuration's user,
    as a template (`{user}`, `{password}`): tests use the very line the README shows."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    [line] = re.findall(r"^\s*ACL SETUSER (bl01 on >the-password .*)$", readme, re.M)
    return line.replace("bl01", "{user}").replace(">the-password", ">{password}")


@pytest.fixture(scope="session")
def strict_acl_rule():
    """A stricter rule than the README's (no CLIENT command, no channel): sessions must
    still work, without the features those serve."""
    return STRICT_ACL_RULE


def _wait_until_moving(*axes, timeout: float = 30.0) -> None:
    names = ", ".join(axis.name for axis in axes)
    with gevent.Timeout(timeout, AssertionError(f"{names} never started moving")):
        while not all(axis.moving_here for axis in axes):
            gevent.sleep(0.001)


@pytest.fixture
def wait_until_moving():
    """`wait_until_moving(*axes)`: until the moves of `axes`, started by another greenlet,
    are under way and followed by this process (`moving_here`): that greenlet waits for them
    now, where an interrupt or an exception stops them. What a test waits for before it
    interrupts a move, instead of sleeping and hoping; the timeout guards hangs."""
    return _wait_until_moving
