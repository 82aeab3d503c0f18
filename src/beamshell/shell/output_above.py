"""Print above a running prompt_toolkit application: sys.stdout's text is queued, never waited on.

While an application (the prompt, or the toolbar of a running command) owns the bottom of
the terminal, text printed by any greenlet is queued; complete lines are written above the
application by its own loop every few tens of milliseconds, and a line still being
rewritten with `\r` (umv's positions, a preset's "Waiting for beam") can be shown live by
the application. The terminal's TerminalStream is diverted rather than replaced, so code
that kept a reference to sys.stdout (a motor's position printer) follows along.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any, TextIO

from prompt_toolkit.application import Application, run_in_terminal

from beamshell.shell.refresh import output_fd, terminal_writable

OUTPUT_BATCH_S = 0.03  # bundle output lines to avoid one redraw per line
WRITE_CHUNK = 4096  # characters written above the application at once, at most
TERMINAL_RETRY_S = 0.1  # a terminal that stopped reading is looked at again this often


def live_line(pending: str) -> str:
    """What a terminal would show of the unfinished last line: its last `\\r` segment."""
    last = pending[pending.rfind("\n") + 1 :]
    segments = [segment for segment in last.split("\r") if segment]
    return segments[-1] if segments else ""


class _QueuedOutput:
    """Stands for sys.stdout/sys.stderr while the toolbar shows (see the module docstring).

    (prompt_toolkit's own StdoutProxy uses a thread and `queue.Queue`, which gevent's
    patching turns into a greenlet queue that cannot be shared with a thread.)
    """

    def __init__(self, app: Application[Any], loop: asyncio.AbstractEventLoop, stream: TextIO):
        self._app = app
        self._loop = loop
        self._stream = stream
        self._pending: list[str] = []
        self._scheduled = False
        self._draining = False

    def write(self, text: str) -> int:
        self._pending.append(text)
        if "\n" in text:
            self._schedule()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._schedule()

    def live_text(self) -> str:
        tail: list[str] = []  # only the unfinished line matters: look from the end
        for piece in reversed(self._pending):
            tail.append(piece)
            if "\n" in piece:
                break
        return live_line("".join(reversed(tail)))

    def _schedule(self) -> None:
        if not self._scheduled and not self._draining:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._loop.call_later, OUTPUT_BATCH_S, self._write_out)

    def _write_out(self) -> None:
        """In the application's loop: write complete lines above the toolbar."""
        self._scheduled = False
        if self._draining:
            return
        fd = output_fd(self._app)
        if fd is not None and not terminal_writable(fd):
            # The terminal is not reading: keep the text, try again later.
            self._scheduled = True
            self._loop.call_later(TERMINAL_RETRY_S, self._write_out)
            return
        text = "".join(self._pending)
        # Complete lines only, and a bounded amount at a time.
        cut = text.rfind("\n", 0, WRITE_CHUNK) + 1 or text.rfind("\n") + 1
        if cut == 0:
            return
        self._pending[:] = [text[cut:]] if text[cut:] else []
        self._write_above(text[:cut])
        if "\n" in text[cut:]:
            self._scheduled = True
            self._loop.call_later(OUTPUT_BATCH_S, self._write_out)

    def _write_above(self, text: str) -> Awaitable[None]:
        output = self._app.output

        def write() -> None:
            output.write_raw(text)
            output.flush()

        return run_in_terminal(write, in_executor=False)

    async def drain(self) -> None:
        """In the loop, before the toolbar goes: write everything, after what is in flight."""
        self._draining = True
        text = "".join(self._pending)
        self._pending.clear()
        if text:
            await self._write_above(text)

    def close(self) -> None:
        """After the application: whatever came last goes straight to the terminal."""
        text = "".join(self._pending)
        self._pending.clear()
        if text:
            write = getattr(self._stream, "write_through", self._stream.write)
            write(text)

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:
        return self._stream.encoding

    @property
    def errors(self) -> str | None:
        return self._stream.errors


class OutputAbove:
    """Diverts sys.stdout/sys.stderr above `app` between `start()` (in the app's loop, e.g.
    as pre_run) and `stop()` (after the app has ended)."""

    def __init__(self, app: Application[Any]):
        self._app = app
        self._saved: tuple[TextIO, TextIO] | None = None
        self.outputs: list[_QueuedOutput] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._saved = saved = (sys.stdout, sys.stderr)
        for stream in dict.fromkeys(saved):  # once if stdout and stderr are one stream
            output = _QueuedOutput(self._app, loop, stream)
            self.outputs.append(output)
            if hasattr(stream, "divert"):
                stream.divert(output)
        if not hasattr(saved[0], "divert"):
            sys.stdout = self.outputs[0]
            sys.stderr = self.outputs[-1]

    def live_text(self) -> str:
        for output in self.outputs:
            text = output.live_text()
            if text:
                return text
        return ""

    async def drain(self) -> None:
        """Write everything queued, in the app's loop (before the app goes)."""
        for output in self.outputs:
            await output.drain()

    def stop(self) -> None:
        if self._saved is None:
            return
        sys.stdout, sys.stderr = self._saved
        for stream in self._saved:
            if hasattr(stream, "undivert"):
                stream.undivert()
        for output in self.outputs:
            output.close()
        self.outputs.clear()
        self._saved = None
