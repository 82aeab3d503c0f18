"""Text that reaches a terminal or a line-oriented log: control characters refused or escaped."""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls (newline, tab, ESC...); Cf: format characters (bidi overrides...);
# Zl/Zp: line and paragraph separators. Each can break or forge a line of output.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def is_unprintable(char: str) -> bool:
    return unicodedata.category(char) in _UNPRINTABLE_CATEGORIES


def has_unprintable(text: str) -> bool:
    """True if `text` holds a character that would move the cursor or recolour a terminal."""
    return any(is_unprintable(char) for char in text)


def printable(text: str) -> str:
    """`text` with control characters written as Python escapes (`\\n`, `\\x1b`, `\\u202e`)."""
    if not has_unprintable(text):
        return text
    return "".join(repr(char)[1:-1] if is_unprintable(char) else char for char in text)
