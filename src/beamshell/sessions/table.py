"""Plain-text tables with columns sized to their contents, for the listing commands."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align_left: int = 1
) -> str:
    """Rows under headers; the first `align_left` columns left-aligned, the rest right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(values: Sequence[str]) -> str:
        parts = [
            value.ljust(width) if index < align_left else value.rjust(width)
            for index, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    separator = "  ".join("-" * width for width in widths)
    return "\n".join([line(list(headers)), separator] + [line(row) for row in cells])


def format_position(value: float | None, digits: int = 5) -> str:
    if value is None:
        return "-"
    if value != value:  # NaN: position unknown
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"
