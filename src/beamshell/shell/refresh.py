"""Redraw an application now and then (clock, scan progress), only when the terminal can take it.

A terminal that stops reading (tmux copy mode, a stalled ssh link) makes writes block, and
a blocked write in the main thread would stop every greenlet, the scan included. So the
periodic redraw and the queued command output are skipped while the terminal's file
descriptor is not writable; they resume when it is.
"""

from __future__ import annotations

import asyncio
import select
from typing import Any

from prompt_toolkit.application import Application


def terminal_writable(fd: int) -> bool:
    try:
        return bool(select.select([], [fd], [], 0)[1])
    except (OSError, ValueError):
        return True  # not a selectable stream (a file): writes do not block


def output_fd(app: Application[Any]) -> int | None:
    try:
        return app.output.fileno()
    except (AttributeError, NotImplementedError, OSError, ValueError):
        return None


async def refresh_periodically(app: Application[Any], interval: float) -> None:
    """Invalidate `app` every `interval` seconds while the terminal is writable."""
    fd = output_fd(app)
    while True:
        await asyncio.sleep(interval)
        if fd is None or terminal_writable(fd):
            app.invalidate()
