"""Errors of the scan-data layer, each a one-line BeamshellError naming the bad thing."""

from __future__ import annotations

from beamshell.config.redis_access import mask_secrets
from beamshell.errors import BeamshellError, RedisUnreachable
from beamshell.text import printable


class DataPublishError(RedisUnreachable):
    """Redis failed while scan data were being published; the failed batch was not written."""

    def __init__(self, url: str, reason: str, what: str = "scan data"):
        super().__init__(
            url,
            reason,
            hint=f"{what} not published (no partial batch was written); the scan cannot go on",
        )


class NodeNotFound(BeamshellError):
    """A node name that does not exist in Redis (never created, or expired)."""

    def __init__(self, db_name: str, url: str):
        self.db_name = db_name
        super().__init__(
            f"no scan data node '{db_name}' in Redis at {mask_secrets(url)} "
            "(never created or expired)"
        )


class BadNodeName(BeamshellError):
    """A node name or parent that breaks the naming rules of the data model."""


class ChannelDataError(BeamshellError):
    """Data appended to a channel do not match its dtype or shape."""


class CorruptData(BeamshellError):
    """Scan data in Redis that break the data model; names the node, the key and what is wrong."""

    def __init__(self, db_name: str, key: str, what: str):
        self.db_name = db_name
        self.key = key
        self.what = what
        super().__init__(
            f"corrupt scan data: node '{printable(db_name)}', key '{printable(key)}': "
            f"{printable(what)}"
        )
