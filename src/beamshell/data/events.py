"""The events a walker yields, and the payload of a NEW_DATA event."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Event(enum.Enum):
    """What happened to a node: it appeared, it got data, or its scan ended."""

    NEW_NODE = "NEW_NODE"
    NEW_DATA = "NEW_DATA"
    END_SCAN = "END_SCAN"

    def __str__(self) -> str:
        return f"event.{self.value}"

    def __eq__(self, other: object) -> bool:
        # `event == "NEW_DATA"` reads naturally in a user's loop; allow it.
        if isinstance(other, str):
            return other in (self.value, str(self))
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.value)


NEW_NODE = Event.NEW_NODE
NEW_DATA = Event.NEW_DATA
END_SCAN = Event.END_SCAN


@dataclass(frozen=True)
class ChannelData:
    """New points of a channel: `data[k]` is the point of index `first_index + k`.

    `data` is a numpy array of shape (n, *shape), or for a node_ref_channel a list of nodes.
    """

    first_index: int
    data: Any

    def __len__(self) -> int:
        return len(self.data)

    @property
    def last_index(self) -> int:
        """Index of the last new point (inclusive)."""
        return self.first_index + len(self.data) - 1
