"""The bottom toolbar's text: session, the running scan's progress, moving axes (or idle), and
the clock."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any


def _elapsed(seconds: float) -> str:
    seconds = max(0.0, seconds)
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def scan_progress(scan: Any, now: float) -> str:
    """`ascan 12/100 0:00:03, 0:00:25 left` for a running scan (from memory only); the time
    left comes from the scan's estimate and is not shown when there is none."""
    name = getattr(scan, "name", None) or "scan"
    done = getattr(scan, "npoints_done", 0) or 0
    total = getattr(scan, "npoints", None)
    start = getattr(scan, "start_time", None)
    points = f"{done}/{total}" if total else f"{done}"
    elapsed = f" {_elapsed(now - start)}" if start else ""
    time_left = getattr(scan, "time_left", None)
    left = time_left() if callable(time_left) and start else None
    remaining = f", {_elapsed(left)} left" if left is not None else ""
    return f"{name} {points}{elapsed}{remaining}"


def moving_axes(axes: list[Any]) -> str:
    """`m2 12.345, m3 -1.2`: the axes this process moves, with where they are now."""
    parts = []
    for axis in axes:
        try:
            position = axis.format_position(axis.position)
        except Exception:  # noqa: BLE001 - the toolbar must never fail: Redis may be away
            position = "?"
        parts.append(f"{axis.name} {position}")
    return ", ".join(parts)


def toolbar_text(
    session_name: str,
    scan: Any | None,
    now: float | None = None,
    busy: bool = False,
    moving: Sequence[Any] = (),
) -> str:
    """The whole toolbar line: ` DEMO | scanning: ascan 12/100 0:00:03, 0:00:25 left | 14:02:11 `;
    without a scan, the axes moving (` DEMO | moving: m2 12.345 mm | ...`), else `running`
    while a command runs, else `idle`."""
    now = time.time() if now is None else now
    if scan is not None:
        activity = f"scanning: {scan_progress(scan, now)}"
    elif moving:
        activity = f"moving: {moving_axes(list(moving))}"
    else:
        activity = "running" if busy else "idle"
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    return f" {session_name.upper()} | {activity} | {clock} "
