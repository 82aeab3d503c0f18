"""The typing helper: turn `umv m1 2` into `umv(m1, 2)` when the line is not valid Python."""

from __future__ import annotations

import ast
import builtins
import keyword
from collections.abc import Mapping
from typing import Any

# Lines IPython itself understands although they are not Python: leave them to IPython.
_IPYTHON_PREFIXES = ("%", "!", "?")


def _parses(source: str, mode: str = "exec") -> bool:
    try:
        ast.parse(source, mode=mode)
    except (SyntaxError, ValueError):
        return False
    return True


def _lookup(name: str, namespace: Mapping[str, Any]) -> Any:
    if name in namespace:
        return namespace[name]
    return getattr(builtins, name, None)


def _is_command(name: str, namespace: Mapping[str, Any]) -> bool:
    """A name the helper may call: an identifier bound to a callable that is not a class."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return False
    value = _lookup(name, namespace)
    return callable(value) and not isinstance(value, type)


def _is_argument(token: str) -> bool:
    """One space-separated argument: an expression, or `keyword=expression`."""
    name, sep, value = token.partition("=")
    if sep and name.isidentifier() and value and not value.startswith("="):
        return _parses(value, "eval")
    return _parses(token, "eval")


def apply_typing_helper(line: str, namespace: Mapping[str, Any]) -> str:
    """The code to run for `line`: `name arg1 arg2` becomes `name(arg1, arg2)`; Python stays.

    A lone name bound to a function (`wa`) is called. Anything else that parses as Python, or
    that IPython handles (`%magic`, `!cmd`, `obj?`), or that spans several lines, is returned
    unchanged, so a syntax error is still reported on what the operator typed.
    """
    stripped = line.strip()
    if not stripped or "\n" in stripped:
        return line
    if stripped.startswith(_IPYTHON_PREFIXES) or stripped.endswith("?"):
        return line
    if _is_command(stripped, namespace):
        return f"{stripped}()"
    if _parses(stripped):
        return line
    name, *arguments = stripped.split()
    if not arguments or not _is_command(name, namespace):
        return line
    if not all(_is_argument(argument) for argument in arguments):
        return line
    call = f"{name}({', '.join(arguments)})"
    return call if _parses(call) else line
