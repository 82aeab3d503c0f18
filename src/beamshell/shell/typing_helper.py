"""The typing helper: turn `umv m1 2` into `umv(m1, 2)` when the line is not valid Python."""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
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


# `ct -1`: a command, a space, then a sign glued to a number or name. Python reads it as a
# subtraction from a function, which is never what an operator means.
_SIGNED_ARGUMENT = re.compile(r"^([A-Za-z_]\w*)\s+[-+][\w.(]")


def _statements(line: str) -> list[str] | None:
    """`line` cut at its top-level semicolons; None if it has none (or does not tokenize)."""
    cuts: list[int] = []
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type != tokenize.OP:
                continue
            if token.string in "([{":
                depth += 1
            elif token.string in ")]}":
                depth -= 1
            elif token.string == ";" and depth == 0:
                cuts.append(token.start[1])
    except (tokenize.TokenError, SyntaxError):
        return None
    if not cuts:
        return None
    bounds = [-1, *cuts, len(line)]
    return [line[start + 1 : end] for start, end in zip(bounds, bounds[1:], strict=False)]


def _subtracts_from_a_command(statement: str, namespace: Mapping[str, Any]) -> bool:
    """`ct -1` parses as `ct - 1`; with `ct` a command, the operator meant `ct(-1)`."""
    match = _SIGNED_ARGUMENT.match(statement)
    return match is not None and _is_command(match.group(1), namespace)


def apply_typing_helper(line: str, namespace: Mapping[str, Any]) -> str:
    """The code to run for `line`: `name arg1 arg2` becomes `name(arg1, arg2)`; Python stays.

    A lone name bound to a function (`wa`) is called; `ct -1` is `ct(-1)`, not a
    subtraction. Statements separated by `;` are each treated alone (`sync(); wa`).
    Anything else that parses as Python, or that IPython handles (`%magic`, `!cmd`,
    `obj?`), or that spans several lines, is returned unchanged, so a syntax error is
    still reported on what the operator typed.
    """
    stripped = line.strip()
    if not stripped or "\n" in stripped:
        return line
    if stripped.startswith(_IPYTHON_PREFIXES) or stripped.endswith("?"):
        return line
    statements = _statements(stripped)
    if statements is not None:
        rewritten = [_apply_to_statement(part, namespace) for part in statements]
        if rewritten == statements:
            return line
        return "; ".join(part.strip() for part in rewritten if part.strip())
    result = _apply_to_statement(stripped, namespace)
    return line if result == stripped else result


def _apply_to_statement(statement: str, namespace: Mapping[str, Any]) -> str:
    """The helper's rewrite of one statement (returned unchanged when there is none)."""
    stripped = statement.strip()
    if not stripped:
        return statement
    if _is_command(stripped, namespace):
        return f"{stripped}()"
    if _parses(stripped) and not _subtracts_from_a_command(stripped, namespace):
        return statement
    name, *arguments = stripped.split()
    if not arguments or not _is_command(name, namespace):
        return statement
    if not all(_is_argument(argument) for argument in arguments):
        return statement
    call = f"{name}({', '.join(arguments)})"
    return call if _parses(call) else statement
