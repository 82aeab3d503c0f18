"""Redis key names of the scan-data model, and the rules a node name must follow.

A node's *name* (`demo:tmp:scans:12_loopscan`) is the same for every configuration; its
*keys* start with the configuration's key prefix (`redis_key_prefix`, '' when none is
set), which a client made by `config.redis_server.connect` carries: `prefix_of(client)`.
"""

from __future__ import annotations

from beamshell.config.redis_access import key_prefix_of as prefix_of
from beamshell.data.errors import BadNodeName
from beamshell.text import has_unprintable

__all__ = ["prefix_of"]  # re-exported: the data package reads the prefix from here

# One node `<db_name>` owns up to four keys; every one of them expires with the scan data.
NODE_SUFFIX = "_node"  # hash: type, parent, dtype, shape
INFO_SUFFIX = "_info"  # hash: field -> JSON value
CHILDREN_SUFFIX = "_children"  # stream: "new" entries (children, in creation order), "end"
DATA_SUFFIX = "_data"  # stream: one entry per batch of points, ID "<first index>-1"
LEASE_SUFFIX = "_lease"  # string with a short TTL: the writer of a running scan is alive

SETTINGS_PREFIX = "settings:"
WAKE_PREFIX = "beamshell:walker_wake:"

CHANNEL_TYPES = frozenset({"channel", "node_ref_channel"})
SCAN_TYPES = frozenset({"scan", "scan_group"})


def node_key(db_name: str, prefix: str = "") -> str:
    return prefix + db_name + NODE_SUFFIX


def info_key(db_name: str, prefix: str = "") -> str:
    return prefix + db_name + INFO_SUFFIX


def children_key(db_name: str, prefix: str = "") -> str:
    return prefix + db_name + CHILDREN_SUFFIX


def data_key(db_name: str, prefix: str = "") -> str:
    return prefix + db_name + DATA_SUFFIX


def wake_key(token: str, prefix: str = "") -> str:
    """A walker's private stream, written to wake its blocking read when it is stopped."""
    return prefix + WAKE_PREFIX + token


def lease_key(db_name: str, prefix: str = "") -> str:
    """A running scan's lease: it exists while the process that runs the scan is alive."""
    return prefix + db_name + LEASE_SUFFIX


def node_keys(db_name: str, node_type: str, prefix: str = "") -> tuple[str, ...]:
    """Every key a node of this type may own."""
    if node_type in CHANNEL_TYPES:
        last = data_key(db_name, prefix)
    else:
        last = children_key(db_name, prefix)
    return (node_key(db_name, prefix), info_key(db_name, prefix), last)


def short_name(db_name: str) -> str:
    return db_name.rsplit(":", 1)[-1]


def check_node_name(db_name: str, parent: str | None) -> None:
    """Raise BadNodeName unless `db_name` is a well-formed child name of `parent`."""
    if not isinstance(db_name, str) or not db_name or db_name != db_name.strip():
        raise BadNodeName(f"bad scan data node name {db_name!r}: a non-empty string is needed")
    if has_unprintable(db_name):
        raise BadNodeName(
            f"bad scan data node name {db_name!r}: control characters (newline, tab, escape...)"
            " are not allowed"
        )
    if any(part == "" for part in db_name.split(":")):
        raise BadNodeName(f"bad scan data node name '{db_name}': empty part between ':'")
    if db_name.startswith(SETTINGS_PREFIX) or db_name == SETTINGS_PREFIX[:-1]:
        raise BadNodeName(f"bad scan data node name '{db_name}': 'settings' is reserved")
    if parent is None:
        if ":" in db_name:
            raise BadNodeName(f"bad session node name '{db_name}': it must not contain ':'")
        return
    if not db_name.startswith(parent + ":"):
        raise BadNodeName(
            f"bad scan data node name '{db_name}': it must start with its parent's name '{parent}:'"
        )
