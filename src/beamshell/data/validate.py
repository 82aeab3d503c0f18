"""What readers get from Redis, checked against the data model: anything else is CorruptData.

Every decoding a reader does goes through here, so a truncated payload, a dtype or shape
that is not data, an undecodable hash or stream entry, or a key of the wrong Redis type is
one `CorruptData` error naming the node, the key and what is wrong, never a raw
ValueError, KeyError or WRONGTYPE from deep inside numpy, json or redis-py. Nothing read is
evaluated: dtypes are parsed by numpy, everything else is JSON or raw numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import redis

from beamshell.data.encoding import COUNT, FIRST_INDEX, PAYLOAD
from beamshell.data.errors import CorruptData
from beamshell.data.keys import CHANNEL_TYPES, children_key, data_key, info_key, node_key

if TYPE_CHECKING:
    from beamshell.data.connection import StreamEntry

# A hash, or the fields of a stream entry, as redis-py gives them.
RawFields = Mapping[bytes | str, bytes | str]

MAX_DIMENSIONS = 8


def text(value: bytes | str, db_name: str, key: str, what: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptData(db_name, key, f"{what} is not UTF-8 text ({exc.reason})") from None


def node_fields(raw: RawFields, db_name: str, prefix: str = "") -> dict[str, str]:
    """A node's own hash (type, parent, dtype, shape) as text; it must have a type."""
    key = node_key(db_name, prefix)
    fields = {}
    for raw_name, raw_value in raw.items():
        name = text(raw_name, db_name, key, "a field name")
        fields[name] = text(raw_value, db_name, key, f"field '{name}'")
    if not fields.get("type"):
        raise CorruptData(db_name, key, "the node hash has no 'type' field")
    return fields


def info(raw: RawFields, db_name: str, prefix: str = "") -> dict[str, Any]:
    """The info hash as Python values: each value must be JSON (nothing is evaluated)."""
    key = info_key(db_name, prefix)
    decoded = {}
    for raw_name, raw_value in raw.items():
        name = text(raw_name, db_name, key, "a field name")
        value = text(raw_value, db_name, key, f"field '{name}'")
        try:
            decoded[name] = json.loads(value)
        except ValueError as exc:
            raise CorruptData(db_name, key, f"field '{name}' is not JSON ({exc})") from None
    return decoded


def channel_dtype(fields: dict[str, str], db_name: str, prefix: str = "") -> np.dtype:
    """The dtype a channel's node hash records: plain numbers or bytes, never objects."""
    key = node_key(db_name, prefix)
    spec = fields.get("dtype")
    if spec is None:
        raise CorruptData(db_name, key, "the channel has no 'dtype' field")
    try:
        dtype = np.dtype(spec)
    except (TypeError, ValueError, SyntaxError):
        raise CorruptData(db_name, key, f"dtype {spec!r} is not a numpy dtype") from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise CorruptData(db_name, key, f"dtype {spec!r} does not hold plain data")
    return dtype


def channel_shape(fields: dict[str, str], db_name: str, prefix: str = "") -> tuple[int, ...]:
    """The point shape a channel's node hash records: a JSON list of sizes (`[]`: scalars)."""
    key = node_key(db_name, prefix)
    spec = fields.get("shape", "[]")
    try:
        shape = json.loads(spec)
    except ValueError:
        shape = None
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMENSIONS
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise CorruptData(db_name, key, f"shape {spec!r} is not a list of point sizes")
    return tuple(shape)


def _integer(fields: RawFields, name: bytes, db_name: str, entry_id: bytes | str, key: str) -> int:
    where = f"entry {text(entry_id, db_name, key, 'an entry ID')}"
    raw = fields.get(name)
    if raw is None:
        raise CorruptData(db_name, key, f"{where} has no '{name.decode()}' field")
    try:
        return int(raw)
    except ValueError:
        raise CorruptData(
            db_name, key, f"{where}: '{name.decode()}' is {raw!r}, not a number"
        ) from None


def batch_span(entry: StreamEntry, db_name: str, prefix: str = "") -> tuple[int, int]:
    """(first index, count) of one data stream entry."""
    entry_id, fields = entry
    key = data_key(db_name, prefix)
    first = _integer(fields, FIRST_INDEX, db_name, entry_id, key)
    count = _integer(fields, COUNT, db_name, entry_id, key)
    if first < 0 or count < 1:
        raise CorruptData(db_name, key, f"entry {entry_id!r}: bad batch i={first} n={count}")
    if PAYLOAD not in fields:
        raise CorruptData(db_name, key, f"entry {entry_id!r} has no payload")
    return first, count


def batches(
    entries: list[StreamEntry], db_name: str, point_bytes: int | None, prefix: str = ""
) -> tuple[int, list[bytes], list[int]]:
    """First index, payloads and point counts of consecutive data entries, each checked.

    `point_bytes`: the size of one point, to check each payload holds exactly `n` points
    (None for JSON payloads). The entries must follow each other without gap or overlap.
    """
    key = data_key(db_name, prefix)
    first, expected = None, None
    payloads, counts = [], []
    for entry in entries:
        start, count = batch_span(entry, db_name, prefix)
        payload = cast(bytes, entry[1][PAYLOAD])  # a reader's client is binary-safe
        if expected is not None and start != expected:
            raise CorruptData(
                db_name,
                key,
                f"points {min(start, expected)}..{max(start, expected) - 1} are "
                f"{'missing' if start > expected else 'written twice'}",
            )
        if point_bytes is not None and len(payload) != count * point_bytes:
            raise CorruptData(
                db_name,
                key,
                f"entry {entry[0]!r}: {len(payload)} bytes of payload for {count} points of "
                f"{point_bytes} bytes (truncated or of another dtype)",
            )
        first = start if first is None else first
        expected = start + count
        payloads.append(payload)
        counts.append(count)
    return (first or 0), payloads, counts


def refs(payloads: list[bytes], counts: list[int], db_name: str, prefix: str = "") -> list[str]:
    """The db_names of node_ref_channel batches: each a JSON list of `n` names."""
    names: list[str] = []
    for payload, count in zip(payloads, counts, strict=True):
        try:
            batch = json.loads(payload)
        except ValueError:
            batch = None
        if (
            not isinstance(batch, list)
            or len(batch) != count
            or not all(isinstance(n, str) and n for n in batch)
        ):
            raise CorruptData(
                db_name,
                data_key(db_name, prefix),
                f"a batch is not a JSON list of {count} node names",
            )
        names.extend(batch)
    return names


def child_entry(
    fields: RawFields, db_name: str, entry_id: bytes | str, prefix: str = ""
) -> tuple[str, str, str]:
    """('new', child db_name, child type) or ('end', '', '') of a children stream entry."""
    key = children_key(db_name, prefix)
    kind = fields.get(b"e")
    if kind == b"end":
        return "end", "", ""
    if kind != b"new":
        raise CorruptData(db_name, key, f"entry {entry_id!r}: unknown event {kind!r}")
    child, child_type = fields.get(b"db"), fields.get(b"t")
    if not child or not child_type:
        raise CorruptData(db_name, key, f"entry {entry_id!r}: a new child without name or type")
    name = text(child, db_name, key, "a child's name")
    if not name.startswith(db_name + ":"):
        raise CorruptData(db_name, key, f"entry {entry_id!r}: child {name!r} is not below it")
    return "new", name, text(child_type, db_name, key, "a child's type")


# ---- keys of the wrong Redis type ---------------------------------------------------------


def expected_keys(db_name: str, node_type: str | None = None, prefix: str = "") -> dict[str, str]:
    """Key -> the Redis type the data model gives it, for the keys a node may own."""
    keys = {node_key(db_name, prefix): "hash", info_key(db_name, prefix): "hash"}
    if node_type is None or node_type in CHANNEL_TYPES:
        keys[data_key(db_name, prefix)] = "stream"
    if node_type is None or node_type not in CHANNEL_TYPES:
        keys[children_key(db_name, prefix)] = "stream"
    return keys


def _is_wrong_type(exc: redis.ResponseError) -> bool:
    return "WRONGTYPE" in str(exc)


def find_wrong_type(client: redis.Redis, keys: dict[str, tuple[str, str]]) -> CorruptData | None:
    """The first key (key -> (owner db_name, expected type)) whose Redis type differs."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
    for (key, (db_name, expected)), actual in zip(keys.items(), pipe.execute(), strict=True):
        actual = actual.decode() if isinstance(actual, bytes) else actual
        if actual not in ("none", expected):
            return CorruptData(db_name, key, f"is a Redis {actual}, not a {expected}")
    return None


@contextmanager
def wrong_type_reported(client: redis.Redis, keys: dict[str, tuple[str, str]]) -> Iterator[None]:
    """Turn a WRONGTYPE reply while reading `keys` into CorruptData naming the key."""
    try:
        yield
    except redis.ResponseError as exc:
        if not _is_wrong_type(exc):
            raise
        error = find_wrong_type(client, keys)
        if error is None:
            raise
        raise error from None


def node_keys_expected(
    db_name: str, node_type: str | None = None, prefix: str = ""
) -> dict[str, tuple[str, str]]:
    return {key: (db_name, kind) for key, kind in expected_keys(db_name, node_type, prefix).items()}
