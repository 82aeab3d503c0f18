"""What the terminal shows while a command runs: its output, the toolbar, Ctrl-C as a key.

A small prompt_toolkit application runs in the main greenlet for the command's duration
(the command itself runs in its own greenlet). Output of the command, of its presets and
of the scan display is written above it (see `output_above`), with a line still being
rewritten with `\\r` shown live just above the toolbar. Keys typed meanwhile are kept and
become the start of the next input; Enter does nothing until the command has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import gevent
from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.containers import ConditionalContainer
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl

from beamshell.shell.output_above import OutputAbove
from beamshell.shell.refresh import refresh_periodically

REFRESH_S = 0.25  # toolbar (points done, elapsed time) and the live line


class CommandDisplay:
    """Runs until a command's greenlet ends; see the module docstring."""

    def __init__(
        self, toolbar_fragments: Callable[[], list], on_ctrl_c: Callable[[], None], style=None
    ):
        self.typeahead = Buffer(multiline=False)
        self._output: OutputAbove | None = None
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
        return self._output.live_text() if self._output is not None else ""

    def run_until_done(self, greenlet: gevent.Greenlet) -> str:
        """Show the toolbar and route output until `greenlet` ends; return the keys typed."""
        self.typeahead.reset()
        app = self.app
        self._output = output = OutputAbove(app)

        async def finish() -> None:
            await output.drain()
            if app.is_running and not app.future.done():
                app.exit()

        def start() -> None:
            loop = asyncio.get_running_loop()
            output.start()
            app.create_background_task(refresh_periodically(app, REFRESH_S))

            def ended(_greenlet) -> None:  # in the hub: hand over to the loop
                loop.call_soon_threadsafe(lambda: app.create_background_task(finish()))

            greenlet.link(ended)  # called at once (soon) if it has already ended

        try:
            app.run(pre_run=start, handle_sigint=False)
        finally:
            output.stop()
            self._output = None
        return self.typeahead.text
