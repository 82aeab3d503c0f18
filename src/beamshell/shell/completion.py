"""Tab completion from the namespace alone: names, attributes, axes and counters inside calls.

Completion runs in the prompt's own thread and greenlet, so it must never read a device (a
property may talk to Redis or hardware): attributes are listed with `dir()` and resolved
with `inspect.getattr_static`, which do not run properties.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

_DOTTED = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$")
_NAME = re.compile(r"[A-Za-z_]\w*$")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
# A typing-helper line so far: `umv m` (command name, a space, arguments).
_HELPER_ARGS = re.compile(r"^\s*([A-Za-z_]\w*)\s+(?:[^\s]+\s+)*[A-Za-z_]?\w*$")


@dataclass(frozen=True)
class Candidate:
    text: str
    start: int  # negative: how many characters before the cursor it replaces
    meta: str


def kind_of(value: Any) -> str:
    """A short word for the completion menu, found from the class alone (no device read)."""
    class_names = {cls.__name__ for cls in type(value).__mro__}
    if "Axis" in class_names:
        return "axis"
    if "Counter" in class_names:
        return "counter"
    if "MeasurementGroup" in class_names:
        return "measurement group"
    if inspect.isclass(value):
        return "class"
    if inspect.isroutine(value):
        return "function"
    if inspect.ismodule(value):
        return "module"
    return type(value).__name__


def _inside_call(text: str, namespace: Mapping[str, Any]) -> bool:
    """Whether the cursor sits among a call's arguments: `ascan(m1, 0, 1, d` or `umv m`."""
    code = _STRING.sub("''", text)
    if code.count("(") > code.count(")"):
        return True
    helper = _HELPER_ARGS.match(code)
    return helper is not None and callable(namespace.get(helper.group(1)))


def _resolve(path: list[str], namespace: Mapping[str, Any]) -> Any:
    """The object named by `a.b.c`, without running properties; raise LookupError if unsure."""
    if path[0] in namespace:
        obj = namespace[path[0]]
    elif hasattr(builtins, path[0]):
        obj = getattr(builtins, path[0])
    else:
        raise LookupError(path[0])
    for part in path[1:]:
        try:
            attr = inspect.getattr_static(obj, part)
        except AttributeError:
            raise LookupError(part) from None
        if hasattr(type(attr), "__get__") and not inspect.isroutine(attr):
            raise LookupError(part)  # a property or descriptor: reading it could be I/O
        obj = attr
    return obj


def _attribute_kind(obj: Any, name: str) -> str:
    try:
        attr = inspect.getattr_static(obj, name)
    except AttributeError:
        return ""
    if isinstance(attr, property):
        return "property"
    if inspect.isroutine(attr) or isinstance(attr, (staticmethod, classmethod)):
        return "method"
    return kind_of(attr)


def complete(text: str, namespace: Mapping[str, Any]) -> list[Candidate]:
    """Completions for the code before the cursor, best first."""
    dotted = _DOTTED.search(text)
    if dotted and not text[: dotted.start()].endswith(("'", '"')):
        path, prefix = dotted.group(1).split("."), dotted.group(2)
        try:
            obj = _resolve(path, namespace)
        except LookupError:
            return []
        names = sorted(n for n in dir(obj) if n.startswith(prefix))
        if not prefix.startswith("_"):
            names = [n for n in names if not n.startswith("_")]
        return [Candidate(n, -len(prefix), _attribute_kind(obj, n)) for n in names]
    match = _NAME.search(text)
    prefix = match.group(0) if match else ""
    if not prefix and text[-1:].isalnum():
        return []  # the end of a number
    candidates: dict[str, str] = {}
    for name, value in namespace.items():
        if name.startswith(prefix) and (prefix.startswith("_") or not name.startswith("_")):
            candidates[name] = kind_of(value)
    if prefix:
        for name in dir(builtins):
            if name.startswith(prefix) and not name.startswith("_"):
                candidates.setdefault(name, "builtin")
        for name in keyword.kwlist:
            if name.startswith(prefix):
                candidates.setdefault(name, "keyword")
    devices_first = _inside_call(text, namespace)
    if not prefix and not devices_first:
        return []  # Tab on an empty line: nothing sensible to list first

    def rank(item: tuple[str, str]) -> tuple[int, str]:
        name, kind = item
        is_device = kind in ("axis", "counter", "measurement group")
        return (0 if (devices_first and is_device) else 1, name.lower())

    return [Candidate(n, -len(prefix), kind) for n, kind in sorted(candidates.items(), key=rank)]


class NamespaceCompleter(Completer):
    """prompt_toolkit completer over a live namespace (see `complete`)."""

    def __init__(self, get_namespace: Callable[[], Mapping[str, Any]]) -> None:
        self._get_namespace = get_namespace

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        for candidate in complete(document.text_before_cursor, self._get_namespace()):
            yield Completion(candidate.text, candidate.start, display_meta=candidate.meta)
