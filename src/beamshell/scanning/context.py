"""ScanEnvironment: what a scan needs from its session (numbering, saving, history, display)."""

from __future__ import annotations

import getpass
import itertools
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO

from beamshell.errors import BeamshellError
from beamshell.scanning.saving import ScanSaving
from beamshell.text import printable

if TYPE_CHECKING:
    from redis import Redis

    from beamshell.config.settings import SettingsStore
    from beamshell.hardware.measurement_group import MeasurementGroup
    from beamshell.hardware.protocols import ScanAxis
    from beamshell.scanning.scan import Scan

DEFAULT_HISTORY_SIZE = 20
DEFAULT_DATA_EXPIRATION_S = 24 * 3600
DEFAULT_LEASE_TIME_S = 10.0  # see beamshell.data.lease


class ScanAlreadyRunning(BeamshellError):
    """A scan was started while another one of the session runs (outside a sequence)."""


class ScansHistory:
    """The session's most recent scans, oldest first (`SCANS[-1]` is the last one started)."""

    def __init__(self, maxlen: int = DEFAULT_HISTORY_SIZE):
        self._scans: deque[Scan] = deque(maxlen=maxlen)

    def append(self, scan: Scan) -> None:
        self._scans.append(scan)

    def __getitem__(self, index: int) -> Scan:
        if not self._scans:
            raise IndexError("no scan has run in this session yet")
        return self._scans[index]

    def __len__(self) -> int:
        return len(self._scans)

    def __iter__(self) -> Iterator[Scan]:
        return iter(list(self._scans))

    def __repr__(self) -> str:
        """A short table of the recent scans: number, title, state, points, start time."""
        if not self._scans:
            return "SCANS: no scan has run in this session yet"
        rows = [_history_row(scan) for scan in self._scans]
        headers = ["#", "title", "state", "points", "started"]
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

        def line(row: list[str]) -> str:
            number, title, state, points, started = (
                cell.rjust(width) if index in (0, 3) else cell.ljust(width)
                for index, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            return f"{number}  {title}  {state}  {points}  {started}".rstrip()

        return "\n".join([line(headers), *(line(row) for row in rows)])


def _history_row(scan: Scan) -> list[str]:
    import time

    number = str(scan.scan_number) if scan.scan_number is not None else "-"
    npoints = scan.npoints
    points = f"{scan.npoints_done}/{npoints}" if npoints else str(scan.npoints_done)
    started = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(scan.start_time))
        if scan.start_time
        else "-"
    )
    return [number, printable(scan.title), scan.state.name, points, started]


class ScanEnvironment:
    """A session's context for scans, built by whoever embeds the engine (the session, a test).

    `redis` None means nothing is published; scan numbers then count in memory, unless a
    `settings` store (a SettingsStore) is given, which keeps `scan_counter:<session>` in Redis
    so that numbers survive a restart. `active_mg` is a callable returning the active
    MeasurementGroup (or None). `plotselect` is a callable returning the names of the
    counters the operator selected for the peak tools and plots (each scan records those it
    has in `scan_info["plotselect"]`). `output` None means sys.stdout at the time of each
    write. `axes` is a callable returning the session's axes, whose positions every scan
    records; `writer_state` one saying whether the session's file writer is "running",
    "starting" or "not running" (the table's footer says where the scan went).
    """

    def __init__(
        self,
        session_name: str = "beamshell",
        *,
        user: str | None = None,
        redis: Redis | None = None,
        settings: SettingsStore | None = None,
        scan_saving: ScanSaving | None = None,
        active_mg: Callable[[], MeasurementGroup | None] | None = None,
        plotselect: Callable[[], list[str]] | None = None,
        display: bool = True,
        output: TextIO | None = None,
        data_expiration: float = DEFAULT_DATA_EXPIRATION_S,
        history_size: int = DEFAULT_HISTORY_SIZE,
        lease_time: float = DEFAULT_LEASE_TIME_S,
        axes: Callable[[], Iterable[ScanAxis]] | None = None,
        writer_state: Callable[[], str] | None = None,
    ):
        if not session_name or ":" in session_name:
            raise ValueError(
                f"session_name must be a non-empty name without ':', got {session_name!r}"
            )
        if settings is None and redis is not None:
            from beamshell.config.settings import SettingsStore

            settings = SettingsStore(redis)
        self.session_name = session_name
        self.user = user or getpass.getuser()
        self.redis = redis
        self.settings = settings
        self.scan_saving = scan_saving or ScanSaving(session_name, settings)
        self._active_mg = active_mg
        self.plotselect = plotselect
        self._axes = axes
        self.writer_state = writer_state  # None: no writer knows this environment
        self.display = display
        self.output = output
        self.data_expiration = data_expiration
        self.lease_time = lease_time  # a running scan's lease in Redis, renewed while it runs
        self.scans = ScansHistory(history_size)
        self.current_scan: Scan | None = None  # the running scan, for the shell's toolbar
        self.running_scans: list[Scan] = []
        self._local_counter = itertools.count(1)

    @property
    def publishing(self) -> bool:
        return self.redis is not None

    def next_scan_number(self) -> int:
        if self.settings is None:
            return next(self._local_counter)
        return self.settings.value(f"scan_counter:{self.session_name}", 0).incr()

    def check_no_other_scan(self, scan: Scan) -> None:
        """Refuse to run `scan` while another scan of the session runs, unless both belong
        to one sequence (whose scans may run side by side)."""
        for other in self.running_scans:
            if other is scan or (scan.sequence is not None and other.sequence is scan.sequence):
                continue
            done = f"{other.npoints_done}/{other.npoints}" if other.npoints else other.npoints_done
            number = f" {other.scan_number}" if other.scan_number is not None else ""
            raise ScanAlreadyRunning(
                f"{scan.name}: scan{number} '{other.title}' is running in session "
                f"{self.session_name} ({other.state.name}, {done} points): wait for its end "
                "or stop it first"
            )

    def active_mg(self) -> MeasurementGroup | None:
        """The active measurement group, or None when the session has none."""
        return self._active_mg() if self._active_mg is not None else None

    def axes(self) -> list[ScanAxis]:
        """Every axis of the session: their positions are recorded at each scan's start and end."""
        return list(self._axes()) if self._axes is not None else []

    @property
    def stream(self) -> TextIO:
        return self.output if self.output is not None else sys.stdout

    def __repr__(self) -> str:
        where = "publishing to Redis" if self.publishing else "not publishing"
        return f"<ScanEnvironment session={self.session_name!r} user={self.user!r} {where}>"


class DefaultEnvironment:
    """Which ScanEnvironment the standard scans use when called without `env=`.

    One per process, owned here and changed only through the functions below: the session
    that opens sets it, and releases it when it closes.
    """

    def __init__(self) -> None:
        self._env: ScanEnvironment | None = None

    def set(self, env: ScanEnvironment | None) -> None:
        self._env = env

    def get(self) -> ScanEnvironment:
        if self._env is None:
            raise BeamshellError(
                "no scan environment: load a session, or call "
                "beamshell.scanning.context.set_default_environment(ScanEnvironment(...))"
            )
        return self._env

    def release(self, env: ScanEnvironment) -> None:
        """Forget `env` if it is the default (another one set since stays)."""
        if self._env is env:
            self._env = None


_DEFAULT = DefaultEnvironment()


def set_default_environment(env: ScanEnvironment | None) -> None:
    """Make `env` the environment of scans created without one (the session calls this)."""
    _DEFAULT.set(env)


def release_default_environment(env: ScanEnvironment) -> None:
    """A closing session: its environment stops being the default, unless replaced since."""
    _DEFAULT.release(env)


def default_environment() -> ScanEnvironment:
    """The environment of scans created without one; a one-line error if none was set."""
    return _DEFAULT.get()
