"""Detached per-session helper processes (the HDF5 writer, the plot server): one at a time.

A daemon is `python -m <module> run -s SESSION --config DIR --ready-fd N`, started in its
own process session so that it outlives the shell that started it. It proves that it runs
by holding an exclusive `flock` on its lock file for its whole life: the kernel releases
the lock when the process dies, however it dies, so a stale pid file can never make a dead
daemon look alive, and two daemons of one kind never run for one session. The starter
waits for the child to say "ready" on a pipe (no polling), or for its exit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beamshell.config import logs
from beamshell.config.redis_server import EmbeddedRedis
from beamshell.errors import BeamshellError

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
READY = b"ready\n"


class DaemonAlreadyRunning(BeamshellError):
    """Another process of this kind already serves the session."""

    def __init__(self, daemon: SessionDaemon, pid: int | None):
        self.pid = pid
        where = f" (pid {pid})" if pid else ""
        super().__init__(f"a {daemon.kind} already runs for session '{daemon.session}'{where}")


class DaemonStartError(BeamshellError):
    """The detached process could not be started, or died before it was ready."""


# What runs as each kind of daemon (`python -m <module>`).
DAEMON_MODULES = {"writer": "beamshell.writer", "plot": "beamshell.plotting"}


def session_daemon(kind: str, session: str, config_dir: Path) -> SessionDaemon:
    """The detached `kind` process ("writer", "plot") of a session."""
    return SessionDaemon(kind, DAEMON_MODULES[kind], session, Path(config_dir))


@dataclass(frozen=True)
class SessionDaemon:
    """The detached `kind` process of one session of one configuration."""

    kind: str  # "writer", "plot"
    module: str  # run as `python -m module`
    session: str
    config_dir: Path

    # ---- where its files are ---------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        path = EmbeddedRedis(Path(self.config_dir)).run_dir / "daemons"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    @property
    def _stem(self) -> str:
        return f"{self.kind}-{self.session}"

    @property
    def lock_file(self) -> Path:
        return self.run_dir / f"{self._stem}.lock"

    @property
    def info_file(self) -> Path:
        """What the running daemon says about itself (pid, start time, its own fields)."""
        return self.run_dir / f"{self._stem}.json"

    @property
    def log_file(self) -> Path:
        return logs.log_path(self.kind, Path(self.config_dir), self.session)

    # ---- seen from outside -----------------------------------------------------------------
    def is_running(self) -> bool:
        """True while a process holds the lock (whatever its pid file says)."""
        try:
            with open(self.lock_file, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock, fcntl.LOCK_UN)
                return False
        except BlockingIOError:
            return True

    def info(self) -> dict[str, Any]:
        """The running daemon's own description ({} when none runs)."""
        if not self.is_running():
            return {}
        try:
            info: dict[str, Any] = json.loads(self.info_file.read_text())
            return info
        except (OSError, ValueError):
            return {}

    def pid(self) -> int | None:
        pid = self.info().get("pid")
        return pid if isinstance(pid, int) else None

    def status(self) -> dict[str, Any]:
        info = self.info()
        return {"running": bool(info) or self.is_running(), "log": str(self.log_file), **info}

    def start(self, extra_args: Sequence[str] = (), env: dict[str, str] | None = None) -> int:
        """Start the daemon unless one runs; return its pid once it is ready."""
        pid = self.pid()
        if pid is not None:
            return pid
        return self.spawn(extra_args, env).wait_ready()

    def spawn(
        self, extra_args: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> DaemonLaunch:
        """Start the process and return at once; `wait_ready()` on the result waits for it."""
        read_end, write_end = os.pipe()
        log_file = self.log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            self.module,
            "run",
            "-s",
            self.session,
            "--config",
            str(self.config_dir),
            "--ready-fd",
            str(write_end),
            *extra_args,
        ]
        try:
            with open(log_file, "ab") as log:
                # stdout/stderr to the log: a crash before logging is set up is still seen.
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(write_end,),
                    start_new_session=True,
                    env=env,
                )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        return DaemonLaunch(self, process, read_end)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """SIGTERM, then SIGKILL after `timeout`; False if none was running."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_released(timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_released(timeout)
        return True

    def _wait_released(self, timeout: float) -> bool:
        """Block until the lock is free (the process is gone), at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with open(self.lock_file, "a") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return False
                    # Waiting for another process to exit: no event to block on here.
                    time.sleep(0.02)
                    continue
                fcntl.flock(lock, fcntl.LOCK_UN)
                return True

    # ---- inside the daemon -----------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self, info: dict[str, Any] | None = None) -> Iterator[None]:
        """Run as this daemon: hold the lock for the block, or raise DaemonAlreadyRunning."""
        lock = open(self.lock_file, "a")  # noqa: SIM115  (held for the block's life)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DaemonAlreadyRunning(self, self._recorded_pid()) from None
            self.describe(info or {})
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    self.info_file.unlink()
        finally:
            lock.close()

    def describe(self, fields: dict[str, Any]) -> None:
        """Publish the running daemon's description (atomically: readers never see half)."""
        record = {"pid": os.getpid(), "started": time.time(), **self._recorded(), **fields}
        record["pid"] = os.getpid()
        tmp = self.info_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(record, out)
        os.replace(tmp, self.info_file)

    def _recorded(self) -> dict[str, Any]:
        try:
            record = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return {}
        return record if record.get("pid") == os.getpid() else {}

    def _recorded_pid(self) -> int | None:
        try:
            pid = json.loads(self.info_file.read_text()).get("pid")
        except (OSError, ValueError):
            return None
        return pid if isinstance(pid, int) else None


class DaemonLaunch:
    """A daemon process just started: wait for it to hold its lock, or learn why it died."""

    def __init__(self, daemon: SessionDaemon, process: subprocess.Popen[bytes], ready_fd: int):
        self.daemon = daemon
        self.process = process
        self.pid = process.pid
        self._ready_fd: int | None = ready_fd

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> int:
        """The pid of the daemon that serves the session; DaemonStartError if none does."""
        daemon, process = self.daemon, self.process
        if self._ready_fd is not None:
            try:
                said = _read_with_timeout(self._ready_fd, timeout)
            finally:
                os.close(self._ready_fd)
                self._ready_fd = None
            if said == READY:
                return process.pid
        if process.poll() is None:
            if daemon.pid() == process.pid:
                return process.pid  # a slow reporter, but it holds the lock
            process.kill()
        process.wait(STOP_TIMEOUT_S)
        serving = daemon.pid()
        if serving is not None:  # lost a race with another starter: that one serves
            return serving
        raise DaemonStartError(
            f"the {daemon.kind} of session '{daemon.session}' did not start "
            f"(exit status {process.returncode}): see {daemon.log_file}"
        )


def signal_ready(fd: int | None) -> None:
    """In the daemon: tell the starter that the lock is held and work has begun."""
    if fd is None:
        return
    try:
        os.write(fd, READY)
    except OSError as exc:
        if exc.errno != errno.EPIPE:  # the starter gave up waiting: nothing to tell
            raise
    finally:
        os.close(fd)


def _read_with_timeout(fd: int, timeout: float) -> bytes:
    """What the child wrote before closing its end (b'' if it died first), or on timeout."""
    deadline = time.monotonic() + timeout
    data = b""
    # poll, not select: select() refuses descriptors from 1024 on, which a long-lived
    # process with many files or sockets open (or a test run) reaches.
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if not poller.poll(remaining * 1000):
            break
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data
