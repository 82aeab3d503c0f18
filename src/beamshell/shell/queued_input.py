"""Lines typed while a command ran, regrouped into the inputs the prompt would have taken.

A `for` loop typed line by line during a scan is queued as separate lines; run one by one,
its first line alone is an incomplete statement. The lines of a compound statement are
joined until it is complete: a blank line closes a block, as at the prompt, and a line
that needs none (a dedented `wa()`) ends it too, running in the same input.
"""

from __future__ import annotations

from collections.abc import Callable

# IPython's verdict on a piece of code: "complete", "incomplete" or "invalid".
CheckComplete = Callable[[str], str]


def next_input(queued: list[str], check_complete: CheckComplete) -> tuple[str, bool] | None:
    """Take the next input off `queued`: (its text, whether it is complete), or None.

    An input still incomplete when the lines run out is returned with False, to be
    finished at the prompt. Blank lines that close nothing are dropped.
    """
    while queued and not queued[0].strip():
        queued.pop(0)
    if not queued:
        return None
    lines = [queued.pop(0)]
    while check_complete("\n".join(lines)) == "incomplete":
        if not queued:
            return "\n".join(lines), False
        lines.append(queued.pop(0))
    return "\n".join(lines), True
