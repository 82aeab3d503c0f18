"""Typed values persisted in Redis: one value (SimpleSetting) or a mapping (HashSetting).

Values are stored as JSON so that their type survives (int stays int, None stays None,
lists and dicts round-trip). Keys are `<key prefix>settings:<name>` (the configuration's
`redis_key_prefix`, carried by the client that `connect()` made) and never expire; every
write goes straight to Redis, so nothing is lost when the shell exits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from beamshell.config.redis_access import key_prefix_of

_PREFIX = "settings:"


def settings_key(redis, name: str) -> str:
    """The Redis key of setting `name` on this client's configuration."""
    return key_prefix_of(redis) + _PREFIX + name


def _encode(value: Any) -> str:
    return json.dumps(value)


def _decode(raw: bytes | str | None) -> Any:
    if raw is None:
        return None
    return json.loads(raw)


class SimpleSetting:
    """One persisted value with a default used while nothing was written."""

    def __init__(self, redis, name: str, default: Any = None):
        self._redis = redis
        self.key = settings_key(redis, name)
        self.default = default

    def get(self) -> Any:
        raw = self._redis.get(self.key)
        return self.default if raw is None else _decode(raw)

    def set(self, value: Any) -> None:
        self._redis.set(self.key, _encode(value))

    def clear(self) -> None:
        self._redis.delete(self.key)

    def incr(self, amount: int = 1) -> int:
        """Atomically add to an integer setting and return the new value."""
        return int(self._redis.incrby(self.key, amount))

    def __repr__(self) -> str:
        return f"<SimpleSetting {self.key}={self.get()!r}>"


class HashSetting(MutableMapping):
    """A persisted mapping of typed values; missing fields fall back to `defaults`."""

    def __init__(self, redis, name: str, defaults: Mapping[str, Any] | None = None):
        self._redis = redis
        self.key = settings_key(redis, name)
        self.defaults = dict(defaults or {})

    def __getitem__(self, field: str) -> Any:
        raw = self._redis.hget(self.key, field)
        if raw is None:
            if field in self.defaults:
                return self.defaults[field]
            raise KeyError(field)
        return _decode(raw)

    def __setitem__(self, field: str, value: Any) -> None:
        self._redis.hset(self.key, field, _encode(value))

    def __delitem__(self, field: str) -> None:
        if not self._redis.hdel(self.key, field) and field not in self.defaults:
            raise KeyError(field)

    def __iter__(self) -> Iterator[str]:
        return iter(self.get_all())

    def __len__(self) -> int:
        return len(self.get_all())

    def get_all(self) -> dict[str, Any]:
        """Defaults overlaid with every stored field, in one round trip."""
        values = dict(self.defaults)
        for field, raw in self._redis.hgetall(self.key).items():
            values[field.decode() if isinstance(field, bytes) else field] = _decode(raw)
        return values

    def update(self, other: Mapping[str, Any] = (), **kwargs: Any) -> None:  # type: ignore[override]
        """Write several fields in one round trip."""
        values = dict(other, **kwargs)
        if values:
            self._redis.hset(self.key, mapping={k: _encode(v) for k, v in values.items()})

    def clear(self) -> None:
        self._redis.delete(self.key)

    def __repr__(self) -> str:
        return f"<HashSetting {self.key} {self.get_all()!r}>"


class SettingsStore:
    """Creates settings on one Redis connection; handed to devices by the configuration."""

    def __init__(self, redis):
        self.redis = redis

    def value(self, name: str, default: Any = None) -> SimpleSetting:
        return SimpleSetting(self.redis, name, default)

    def mapping(self, name: str, defaults: Mapping[str, Any] | None = None) -> HashSetting:
        return HashSetting(self.redis, name, defaults)
