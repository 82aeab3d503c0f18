"""Keys prompt_toolkit holds for the next prompt: kept in the order typed, dropped on errors."""

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.input.typeahead import get_typeahead, store_typeahead

from beamshell.shell import typeahead


def _typed(terminal_input, text):
    """The keys a terminal sends for `text`, as prompt_toolkit's own parser reads them."""
    terminal_input.send_text(text)
    return terminal_input.read_keys()


def _text(keys):
    return "".join(key.data for key in keys)


def test_held_keys_come_back_ahead_of_those_read_meanwhile():
    with create_pipe_input() as terminal_input:
        store_typeahead(terminal_input, _typed(terminal_input, "late()\r"))
        held = typeahead.hold(terminal_input)
        assert _text(held) == "late()\r" and get_typeahead(terminal_input) == []
        # What the prompt in between read and left unused: typed after the held keys.
        store_typeahead(terminal_input, _typed(terminal_input, "later()\r"))
        typeahead.give_back(terminal_input, held)
        assert _text(get_typeahead(terminal_input)) == "late()\rlater()\r"
        typeahead.give_back(terminal_input, [])  # nothing held: nothing stored
        assert get_typeahead(terminal_input) == []


def test_after_an_error_complete_lines_are_dropped_and_a_started_one_stays():
    with create_pipe_input() as terminal_input:
        store_typeahead(terminal_input, _typed(terminal_input, "a = 1\r\rb = '\x1b[A'\rwa"))
        assert typeahead.drop_lines(terminal_input) == ["a = 1", "b = '\x1b[A'"]
        assert typeahead.drop_lines(terminal_input) == []  # no Enter: all of it stays
        assert _text(get_typeahead(terminal_input)) == "wa"
