"""What the terminal shows while a command runs: its output, the toolbar, Ctrl-C as a key.

A small prompt_toolkit application runs in the main greenlet for the command's duration
(the command itself runs in its own greenlet). Output of the command, of its presets and
of the scan display goes to a stand-in for sys.stdout that only queues it, so no greenlet
waits on the terminal; complete lines are written above the toolbar every few tens of
milliseconds, and a line still being rewritten with `\\r` (umv's positions, a preset's
"Waiting for beam") is shown live just above the toolbar. Keys typed meanwhile are kept
and become the start of the next input; Enter does nothing until the command has ended.
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

REFRESH_S = 0.25  # toolbar (points done, elapsed time) and the live line
OUTPUT_BATCH_S = 0.03  # bundle output lines to avoid one redraw per line
WRITE_CHUNK = 4096  # characters written above the toolbar at once, at most
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

    def __init__(self, app: Application, loop: asyncio.AbstractEventLoop, stream):
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
        return live_line("".join(self._pending))

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

    def _write_above(self, text: str):
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


class CommandDisplay:
    """Runs until a command's greenlet ends; see the module docstring."""

    def __init__(
        self, toolbar_fragments: Callable[[], list], on_ctrl_c: Callable[[], None], style=None
    ):
        self.typeahead = Buffer(multiline=False)
        self._outputs: list[_QueuedOutput] = []
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
                    Window(FormattedTextControl(self._live_text), height=1),
                    filter=Condition(lambda: bool(self._live_text())),
                ),
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

    def _live_text(self) -> str:
        for output in self._outputs:
            text = output.live_text()
            if text:
                return text
        return ""

    def run_until_done(self, greenlet: gevent.Greenlet) -> str:
        """Show the toolbar and route output until `greenlet` ends; return the keys typed."""
        self.typeahead.reset()
        app = self.app
        saved = sys.stdout, sys.stderr
        outputs = self._outputs
        outputs.clear()

        async def finish() -> None:
            for output in outputs:
                await output.drain()
            if app.is_running and not app.future.done():
                app.exit()

        def start() -> None:
            loop = asyncio.get_running_loop()
            for stream in dict.fromkeys(saved):  # once if stdout and stderr are one stream
                output = _QueuedOutput(app, loop, stream)
                outputs.append(output)
                if hasattr(stream, "divert"):  # a TerminalStream: references to it follow
                    stream.divert(output)
            if not hasattr(saved[0], "divert"):
                sys.stdout = outputs[0]
                sys.stderr = outputs[-1] if saved[1] is not saved[0] else outputs[0]
            app.create_background_task(refresh_periodically(app, REFRESH_S))

            def ended(_greenlet) -> None:  # in the hub: hand over to the loop
                loop.call_soon_threadsafe(lambda: app.create_background_task(finish()))

            greenlet.link(ended)  # called at once (soon) if it has already ended

        try:
            app.run(pre_run=start, handle_sigint=False)
        finally:
            sys.stdout, sys.stderr = saved
            for stream in saved:
                if hasattr(stream, "undivert"):
                    stream.undivert()
            for output in outputs:
                output.close()
            outputs.clear()
        return self.typeahead.text
