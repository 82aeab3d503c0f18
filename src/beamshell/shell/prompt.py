"""The prompt's text: `DEMO [3]: ` with the session name in capitals, and `...: ` continuations."""

from __future__ import annotations


def input_prompt(session_name: str, count: int) -> str:
    """The main prompt, e.g. `DEMO [1]: `."""
    return f"{session_name.upper()} [{count}]: "


def continuation_prompt(width: int) -> str:
    """A continuation line's prompt, right-aligned under the main prompt: `   ...: `."""
    marker = "...: "
    return marker.rjust(max(width, len(marker)))


def output_prompt(count: int, width: int) -> str:
    """The prefix of a result, right-aligned under the input prompt: ` Out [2]: `."""
    return f"Out [{count}]: ".rjust(width)


def next_count(count: int, submitted: str) -> int:
    """The prompt number after `submitted` was entered: blank input does not advance it."""
    return count + 1 if submitted.strip() else count
