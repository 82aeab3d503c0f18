"""Byte encodings of node info (JSON) and channel batches (raw numpy bytes, JSON refs)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from beamshell.data.errors import ChannelDataError

# Stream entry fields of one batch of a channel.
FIRST_INDEX = b"i"
COUNT = b"n"
PAYLOAD = b"d"

REF_DTYPE = "ref"  # dtype recorded for node_ref_channel: the payload is a JSON list of db_names


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_info(info: Mapping[str, Any], where: str) -> dict[str, str]:
    """JSON-encode each value of an info mapping; a bad value is an error naming its key."""
    encoded: dict[str, str] = {}
    for key, value in info.items():
        if not isinstance(key, str):
            raise ChannelDataError(f"{where}: info key {key!r} is not a string")
        try:
            encoded[key] = json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise ChannelDataError(
                f"{where}: info '{key}' cannot be stored as JSON ({exc})"
            ) from None
    return encoded


def checked_dtype(dtype: Any, where: str) -> np.dtype:
    """A numpy dtype whose values are plain bytes (no Python objects)."""
    try:
        result: np.dtype = np.dtype(dtype)
    except TypeError:
        raise ChannelDataError(f"{where}: unknown dtype {dtype!r}") from None
    if result.hasobject:
        raise ChannelDataError(f"{where}: dtype {result} holds Python objects; use a numeric dtype")
    return result


def as_points(values: Any, dtype: np.dtype, shape: tuple[int, ...], where: str) -> np.ndarray:
    """`values` as an array of shape (n, *shape); one point of shape `shape` is accepted too."""
    try:
        array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ChannelDataError(f"{where}: data are not {dtype} ({exc})") from None
    if array.shape == shape:
        return array.reshape((1, *shape))
    if array.ndim != len(shape) + 1 or array.shape[1:] != shape:
        raise ChannelDataError(
            f"{where}: data of shape {array.shape} do not fit the channel's point shape {shape}"
            f" (expected (n, {', '.join(map(str, shape))}))".replace("(n, )", "(n,)")
        )
    return array


def encode_points(arrays: list[np.ndarray]) -> memoryview:
    """Raw C-order bytes of consecutive point arrays, as a byte view: one array is not
    copied (a batch of spectra is megabytes), several are joined once."""
    joined = np.ascontiguousarray(arrays[0]) if len(arrays) == 1 else np.concatenate(arrays)
    return joined.reshape(-1).view(np.uint8).data


def decode_points(payloads: list[bytes], dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A writable (n, *shape) array from raw batch payloads."""
    joined = payloads[0] if len(payloads) == 1 else b"".join(payloads)
    return np.frombuffer(bytearray(joined), dtype=dtype).reshape((-1, *shape))


def encode_refs(db_names: list[str]) -> bytes:
    return json.dumps(db_names).encode()
