"""What the terminal shows while a command runs: its output, the toolbar, Ctrl-C as a key.

A small prompt_toolkit application runs in the main greenlet for the command's duration
(the command itself runs in its own greenlet). Output of the command, of its presets and
of the scan display goes through a stdout proxy into a queue, so no greenlet ever waits on
the terminal; the queue is written above the toolbar every few tens of milliseconds. Keys
typed meanwhile are kept and become the start of the next input; Enter does nothing until
the command has ended.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import gevent
from prompt_toolkit.application import Application, run_in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.containers import ConditionalContainer
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl

from beamshell.shell.refresh import output_fd, refresh_periodically, terminal_writable

REFRESH_S = 0.25  # toolbar: points done, elapsed time
OUTPUT_BATCH_S = 0.03  # bundle output lines to avoid one redraw per line
WRITE_CHUNK = 4096  # characters written above the toolbar at once, at most
TERMINAL_RETRY_S = 0.1  # a terminal that stopped reading is looked at again this often


class _QueuedOutput:
    """Stands for sys.stdout/sys.stderr while the toolbar shows: a write only queues the text;
    complete lines are written above the toolbar by the application's loop, in batches.

    (prompt_toolkit's own StdoutProxy uses a thread and `queue.Queue`, which gevent's
    patching turns into a greenlet queue that cannot be shared with a thread.)
    """

    def __init__(self, app: Application, loop: asyncio.AbstractEventLoop, stream):
        self._app = app
        self._loop = loop
        self._stream = stream
        self._pending: list[str] = []
        self._scheduled = False
        self._closed = False

    def write(self, text: str) -> int:
        if self._closed:
            return self._stream.write(text)
        self._pending.append(text)
        if "\n" in text:
            self._schedule()
        return len(text)

    def flush(self) -> None:
        if self._pending and not self._closed:
            self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._loop.call_later, OUTPUT_BATCH_S, self._write_out)

    def _write_out(self) -> None:
        self._scheduled = False
        fd = output_fd(self._app)
        if fd is not None and not terminal_writable(fd):
            # The terminal is not reading: keep the text, try again later.
            self._scheduled = True
            self._loop.call_later(TERMINAL_RETRY_S, self._write_out)
            return
        text = "".join(self._pending)
        # Complete lines only (a line still being written waits for its end), and a bounded
        # amount at a time, so one write cannot block long on a slow terminal.
        cut = text.rfind("\n", 0, WRITE_CHUNK) + 1 or text.rfind("\n") + 1
        if cut == 0 or self._closed:
            return
        self._pending[:] = [text[cut:]] if text[cut:] else []
        output = self._app.output

        def write() -> None:
            output.write_raw(text[:cut])
            output.flush()

        run_in_terminal(write, in_executor=False)
        if "\n" in text[cut:]:
            self._scheduled = True
            self._loop.call_later(OUTPUT_BATCH_S, self._write_out)

    def close(self) -> None:
        """Write what is left straight to the terminal (the toolbar is gone)."""
        self._closed = True
        if self._pending:
            self._stream.write("".join(self._pending))
            self._pending.clear()
        self._stream.flush()

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


class CommandDisplay:
    """Runs until a command's greenlet ends; see the module docstring."""

    def __init__(
        self, toolbar_fragments: Callable[[], list], on_ctrl_c: Callable[[], None], style=None
    ):
        self.typeahead = Buffer(multiline=False)
        bindings = KeyBindings()

        @bindings.add("c-c")
        def _interrupt(event) -> None:
            on_ctrl_c()

        @bindings.add("enter")
        @bindings.add("c-d")
        def _not_now(event) -> None:
            """The prompt does not accept a new command while one runs."""

        layout = HSplit(
            [
                ConditionalContainer(
                    Window(BufferControl(self.typeahead), height=1),
                    filter=Condition(lambda: bool(self.typeahead.text)),
                ),
                Window(
                    FormattedTextControl(toolbar_fragments), height=1, style="class:status-toolbar"
                ),
            ]
        )
        self.app: Application = Application(
            layout=Layout(layout, focused_element=self.typeahead),
            key_bindings=bindings,
            erase_when_done=True,
            style=style,
        )

    def run_until_done(self, greenlet: gevent.Greenlet) -> str:
        """Show the toolbar and route output until `greenlet` ends; return the keys typed."""
        self.typeahead.reset()
        app = self.app
        saved = sys.stdout, sys.stderr
        proxies: list[_QueuedOutput] = []

        def watch() -> None:
            loop = asyncio.get_running_loop()
            proxies.extend(_QueuedOutput(app, loop, stream) for stream in saved)
            sys.stdout, sys.stderr = proxies
            app.create_background_task(refresh_periodically(app, REFRESH_S))

            def finish(_greenlet) -> None:
                loop.call_soon_threadsafe(_exit)

            def _exit() -> None:
                if app.is_running and not app.future.done():
                    app.exit()

            if greenlet.dead:
                loop.call_soon(_exit)
            else:
                greenlet.link(finish)

        try:
            app.run(pre_run=watch, handle_sigint=False)
        finally:
            sys.stdout, sys.stderr = saved
            for proxy in proxies:
                proxy.close()
        return self.typeahead.text
