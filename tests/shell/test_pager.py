"""Which pager runs, and with what text: pure functions of the pager module."""

import pytest

from beamshell.shell.pager import for_pager, pager_command


@pytest.mark.parametrize(
    ("command", "less_env", "expected"),
    [
        ("less", "", "less -R"),
        ("less -r", "", "less -r"),
        ("less -SR", "", "less -SR"),
        ("/usr/bin/less", "FRX", "/usr/bin/less"),
    ],
)
def test_less_is_asked_to_show_colours(monkeypatch, command, less_env, expected):
    monkeypatch.setenv("LESS", less_env)
    assert for_pager(command, "\x1b[31mSignature:\x1b[39m f()") == (
        expected,
        "\x1b[31mSignature:\x1b[39m f()",
    )


def test_other_pagers_get_the_text_without_colour_codes():
    assert for_pager("more", "\x1b[31mSignature:\x1b[39m f()") == ("more", "Signature: f()")


def test_the_operators_pager_wins(monkeypatch):
    monkeypatch.delenv("MANPAGER", raising=False)
    monkeypatch.setenv("PAGER", "most")
    assert pager_command() == "most"
    monkeypatch.setenv("MANPAGER", "less -X")
    assert pager_command() == "less -X"
