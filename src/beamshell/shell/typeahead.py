"""Keys typed ahead of the prompt that prompt_toolkit holds: kept in the order they were typed.

prompt_toolkit keeps the keys an application read but did not use (typed while it was
ending, waiting for the terminal's answer to a cursor position request, for example) and
feeds them to the next application it runs. A queued line shown at the prompt must run
before them: they were typed after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prompt_toolkit.input.typeahead import get_typeahead, store_typeahead
from prompt_toolkit.keys import Keys

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyPress

_ENTER = (Keys.ControlM, Keys.ControlJ)


def hold(terminal_input: Input) -> list[KeyPress]:
    """Take the held keys away, so that the next application does not see them."""
    return get_typeahead(terminal_input)


def give_back(terminal_input: Input, held: list[KeyPress]) -> None:
    """Put `held` back, ahead of whatever the application in between left unread."""
    if held:
        store_typeahead(terminal_input, held + get_typeahead(terminal_input))


def drop_lines(terminal_input: Input) -> list[str]:
    """Remove the complete lines (ended with Enter) held for the next prompt; their text.

    What follows the last Enter (a line still being typed) stays held.
    """
    keys = get_typeahead(terminal_input)
    ends = [index for index, key in enumerate(keys) if key.key in _ENTER]
    if not ends:
        store_typeahead(terminal_input, keys)
        return []
    store_typeahead(terminal_input, keys[ends[-1] + 1 :])
    text = "".join(key.data for key in keys[: ends[-1] + 1])
    return [line for line in text.replace("\n", "\r").split("\r") if line.strip()]
