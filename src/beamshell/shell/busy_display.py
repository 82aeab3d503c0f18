"""What the terminal shows while a command runs: its output, the toolbar, Ctrl-C as a key.

A small prompt_toolkit application runs in the main greenlet for the command's duration
(the command itself runs in its own greenlet). Output of the command, of its presets and
of the scan display is written above it (see `output_above`), with a line still being
rewritten with `\\r` shown live just above the toolbar. Keys typed meanwhile are kept:
a line ended with Enter is queued and runs after the command (unless it fails or is
interrupted: then the queue is dropped), the rest becomes the start of the next input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.containers import ConditionalContainer
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl

from beamshell.shell.output_above import OutputAbove
from beamshell.shell.plot_panel import plot_panel
from beamshell.shell.refresh import refresh_periodically

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyPressEvent
    from prompt_toolkit.styles import BaseStyle

REFRESH_S = 0.25  # toolbar (points done, elapsed time) and the live line


class CommandDisplay:
    """Runs until a command's greenlet ends; see the module docstring."""

    def __init__(
        self,
        toolbar_fragments: Callable[[], StyleAndTextTuples],
        on_ctrl_c: Callable[[], object],
        style: BaseStyle | None = None,
        live_plot: Any = None,
    ):
        self.typeahead = Buffer(multiline=False)
        self.queued: list[str] = []  # lines typed with Enter while the command runs
        self._output: OutputAbove | None = None
        self._stop_app: Callable[[], None] | None = None
        self._app_ended = gevent.event.Event()
        self._terminal_free = gevent.event.Event()
        self._terminal_free.set()
        bindings = KeyBindings()

        @bindings.add("c-c")
        def _interrupt(event: KeyPressEvent) -> None:
            self.queued.clear()  # what was typed for after the command must not run now
            self.typeahead.reset()
            on_ctrl_c()

        @bindings.add("enter")
        def _queue(event: KeyPressEvent) -> None:
            """Keep the line for when the command has ended (like a terminal's type-ahead).
            A blank line is kept after others: it may close a block typed line by line."""
            if self.typeahead.text.strip() or self.queued:
                self.queued.append(self.typeahead.text)
            self.typeahead.reset()

        @bindings.add("c-d")
        def _not_now(event: KeyPressEvent) -> None:
            """Leaving is only possible at the prompt."""

        layout = HSplit(
            [
                plot_panel(live_plot, lambda: self.app),
                ConditionalContainer(
                    Window(FormattedTextControl(self._live_text), height=1),
                    filter=Condition(lambda: bool(self._live_text())),
                ),
                ConditionalContainer(
                    Window(FormattedTextControl(self._queued_text), height=1),
                    filter=Condition(lambda: bool(self.queued)),
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
        self.app: Application[None] = Application(
            layout=Layout(layout, focused_element=self.typeahead),
            key_bindings=bindings,
            erase_when_done=True,
            style=style,
        )

    def _queued_text(self) -> str:
        return "queued: " + "; ".join(line for line in self.queued if line.strip())

    def _live_text(self) -> str:
        return self._output.live_text() if self._output is not None else ""

    def run_until_done(self, greenlet: gevent.Greenlet[..., Any]) -> tuple[list[str], str]:
        """Show the toolbar and route output until `greenlet` ends.

        Returns the lines queued with Enter and the keys typed after the last one. While
        the command has the terminal to itself (see `released`), nothing is shown.
        """
        self.typeahead.reset()
        self.queued = []
        while not greenlet.dead:
            waitables: list[Any] = [self._terminal_free, greenlet]
            gevent.wait(waitables, count=1)
            if greenlet.dead:
                break
            self._run_app(greenlet)
        return list(self.queued), self.typeahead.text

    @contextmanager
    def released(self) -> Iterator[None]:
        """For a command that needs the terminal itself (`input()`): the toolbar steps aside,
        the terminal is back in its ordinary line mode, and comes back afterwards."""
        self._terminal_free.clear()
        try:
            if self.app.is_running and self._stop_app is not None:
                self._stop_app()
                self._app_ended.wait()
            yield
        finally:
            self._terminal_free.set()

    def _run_app(self, greenlet: gevent.Greenlet[..., Any]) -> None:
        app = self.app
        self._output = output = OutputAbove(app)
        self._app_ended.clear()

        async def finish() -> None:
            await output.drain()
            if app.is_running and app.future is not None and not app.future.done():
                app.exit()

        def start() -> None:
            loop = asyncio.get_running_loop()

            def stop_app() -> None:  # from any greenlet: hand over to the loop
                loop.call_soon_threadsafe(lambda: app.create_background_task(finish()))

            self._stop_app = stop_app
            output.start()
            app.create_background_task(refresh_periodically(app, REFRESH_S))
            greenlet.link(ended)  # called at once (soon) if it has already ended

        def ended(_greenlet: gevent.Greenlet[..., Any]) -> None:
            if self._stop_app is not None:
                self._stop_app()

        try:
            app.run(pre_run=start, handle_sigint=False)
        finally:
            greenlet.unlink(ended)
            self._stop_app = None
            output.stop()
            self._output = None
            self._app_ended.set()
