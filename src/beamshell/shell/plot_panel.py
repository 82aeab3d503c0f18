"""The live plot's place on the screen: a panel above the toolbar, as tall as the drawing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from prompt_toolkit.application import Application
from prompt_toolkit.filters import Condition, Filter
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.layout import ConditionalContainer, Dimension, Window
from prompt_toolkit.layout.controls import FormattedTextControl

MIN_ROWS = 8


def plot_panel(
    live_plot: Any, get_app: Callable[[], Application[Any]], shown: Filter | None = None
) -> ConditionalContainer:
    """A window showing `live_plot.panel(width, height)` (half the terminal's height) when
    it has something to show; the drawing is redone by the LivePlot only when due."""
    text = [""]
    parsed: dict[str, ANSI] = {}  # the escapes of a drawing are parsed once, not per redraw

    def fragments() -> ANSI:
        if text[0] not in parsed:
            parsed.clear()
            parsed[text[0]] = ANSI(text[0])
        return parsed[text[0]]

    def current() -> bool:
        text[0] = ""
        if live_plot is None or not live_plot.enabled:
            return False
        try:
            size = get_app().output.get_size()
            text[0] = live_plot.panel(size.columns - 1, max(size.rows // 2, MIN_ROWS))
        except Exception as exc:  # noqa: BLE001 - a failing drawing must not break the prompt
            live_plot.stop()
            print(f"live plot stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return bool(text[0])

    window = Window(
        FormattedTextControl(fragments),
        height=lambda: Dimension.exact(text[0].count("\n") + 1),
        dont_extend_height=True,
    )
    condition = Condition(current)
    return ConditionalContainer(
        window, filter=shown & condition if shown is not None else condition
    )
