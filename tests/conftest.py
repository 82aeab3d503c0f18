"""Fixtures shared by every test: gevent patching and a private, real redis-server."""

from gevent import monkey

monkey.patch_all(thread=False)

import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import redis  # noqa: E402

from beamshell.config.redis_server import find_redis_server_binary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class RedisProcess:
    """A redis-server started for the tests on a Unix socket, stopped by its PID."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                find_redis_server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("test redis-server did not start") from None
                time.sleep(0.01)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, 15)
            self.process.wait(10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One private redis-server for the whole test run."""
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


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
