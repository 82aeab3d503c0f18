"""Redis key names of the scan-data model, and the rules a node name must follow."""

from __future__ import annotations

from beamshell.data.errors import BadNodeName
from beamshell.text import has_unprintable

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


def node_key(db_name: str) -> str:
    return db_name + NODE_SUFFIX


def info_key(db_name: str) -> str:
    return db_name + INFO_SUFFIX


def children_key(db_name: str) -> str:
    return db_name + CHILDREN_SUFFIX


def data_key(db_name: str) -> str:
    return db_name + DATA_SUFFIX


def lease_key(db_name: str) -> str:
    return db_name + LEASE_SUFFIX


def node_keys(db_name: str, node_type: str) -> tuple[str, ...]:
    """Every key a node of this type may own."""
    last = data_key(db_name) if node_type in CHANNEL_TYPES else children_key(db_name)
    return (node_key(db_name), info_key(db_name), last)


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
