"""Typed values persisted in Redis: one value (SimpleSetting) or a mapping (HashSetting).

Values are stored as JSON so that their type survives (int stays int, None stays None,
lists and dicts round-trip). Keys are `<key prefix>settings:<name>` (the configuration's
`redis_key_prefix`, carried by the client that `connect()` made) and never expire; every
write goes straight to Redis, so nothing is lost when the shell exits.

Several processes share one session's settings (two shells, a script, a writer). A store
created with `follow_changes=True` (the configuration's store is) keeps what it read in a
local cache and follows Redis's invalidation messages for every key under its settings
prefix (server-assisted client tracking, see `config.settings_feed`): a change made by any
process, even with redis-cli, drops the cached value at once and calls the callbacks
registered with `on_change`, so reads cost no round trip and are never stale for longer
than the message takes to arrive. Without gevent's patched sockets (the feed could never
run) or when the feed has lost its connection, every read goes to Redis instead: always
correct, just slower.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, cast

from beamshell.config.redis_access import key_prefix_of

if TYPE_CHECKING:
    from redis import Redis
    from redis.typing import EncodableT, FieldT

    from beamshell.config.settings_feed import InvalidationFeed

_PREFIX = "settings:"
_MISSING = object()


def settings_key(redis: Redis, name: str) -> str:
    """The Redis key of setting `name` on this client's configuration."""
    return key_prefix_of(redis) + _PREFIX + name


def _encode(value: Any) -> str:
    return json.dumps(value)


def _decode(raw: bytes | str | None) -> Any:
    if raw is None:
        return None
    return json.loads(raw)


class SettingsCache:
    """Values read from Redis, per key, kept until Redis says the key changed.

    Invalidations arrive in the feed's greenlet; a read or write in another greenlet may be
    waiting on Redis at that moment. A generation number per key (plus an epoch for whole
    flushes) tells such a read or write that its answer may predate the change, and then it
    is not cached.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0
        self._callbacks: dict[str, list[Callable[[], None]]] = {}
        self.enabled: Callable[[], bool] = lambda: False

    def stamp(self, key: str) -> tuple[int, int]:
        return (self._epoch, self._generations.get(key, 0))

    def read(self, key: str, fetch: Callable[[], Any]) -> Any:
        """The cached value of `key`, else `fetch()` (cached if nothing changed meanwhile)."""
        if not self.enabled():
            return fetch()
        value = self._values.get(key, _MISSING)
        if value is not _MISSING:
            return value
        stamp = self.stamp(key)
        value = fetch()
        if self.stamp(key) == stamp and self.enabled():
            self._values[key] = value
        return value

    def wrote(self, key: str, stamp: tuple[int, int], apply: Callable[[Any], Any]) -> None:
        """A write to `key` returned: update the cached value with `apply(old) -> new`,
        unless an invalidation came in during the write (then forget it, read it again)."""
        if key not in self._values:
            return
        if self.stamp(key) == stamp:
            self._values[key] = apply(self._values[key])
        else:
            self._values.pop(key, None)

    def invalidate(self, keys: list[str] | None) -> None:
        """Redis says these keys changed (None: everything, after a flush or a lost feed)."""
        if keys is None:
            self._epoch += 1
            self._values.clear()
            keys = list(self._callbacks)
        else:
            for key in keys:
                self._values.pop(key, None)
                self._generations[key] = self._generations.get(key, 0) + 1
        for key in keys:
            for callback in list(self._callbacks.get(key, ())):
                try:
                    callback()
                except Exception as exc:  # noqa: BLE001 - one bad callback must not stop the others
                    print(f"beamshell: callback for {key} failed: {exc!r}", file=sys.stderr)

    def forget(self) -> None:
        """Drop every cached value (no callbacks: nobody follows changes any more)."""
        self._epoch += 1
        self._values.clear()

    def add_callback(self, key: str, callback: Callable[[], None]) -> None:
        self._callbacks.setdefault(key, []).append(callback)

    def remove_callback(self, key: str, callback: Callable[[], None]) -> None:
        callbacks = self._callbacks.get(key, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            self._callbacks.pop(key, None)


class SimpleSetting:
    """One persisted value with a default used while nothing was written."""

    def __init__(
        self, redis: Redis, name: str, default: Any = None, *, cache: SettingsCache | None = None
    ):
        self._redis = redis
        self.key = settings_key(redis, name)
        self.default = default
        self._cache = cache or SettingsCache()

    def _fetch(self) -> Any:
        raw = self._redis.get(self.key)
        return _MISSING if raw is None else _decode(raw)

    def get(self) -> Any:
        value = self._cache.read(self.key, self._fetch)
        return self.default if value is _MISSING else value

    def set(self, value: Any) -> None:
        encoded = _encode(value)
        stamp = self._cache.stamp(self.key)
        self._redis.set(self.key, encoded)
        self._cache.wrote(self.key, stamp, lambda _old: _decode(encoded))

    def clear(self) -> None:
        stamp = self._cache.stamp(self.key)
        self._redis.delete(self.key)
        self._cache.wrote(self.key, stamp, lambda _old: _MISSING)

    def incr(self, amount: int = 1) -> int:
        """Atomically add to an integer setting and return the new value."""
        stamp = self._cache.stamp(self.key)
        value = int(self._redis.incrby(self.key, amount))
        self._cache.wrote(self.key, stamp, lambda _old: value)
        return value

    def __repr__(self) -> str:
        return f"<SimpleSetting {self.key}={self.get()!r}>"


class HashSetting(MutableMapping[str, Any]):
    """A persisted mapping of typed values; missing fields fall back to `defaults`."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        defaults: Mapping[str, Any] | None = None,
        *,
        cache: SettingsCache | None = None,
    ):
        self._redis = redis
        self.key = settings_key(redis, name)
        self.defaults = dict(defaults or {})
        self._cache = cache or SettingsCache()

    def _fetch(self) -> dict[str, Any]:
        return {
            field.decode() if isinstance(field, bytes) else field: _decode(raw)
            for field, raw in self._redis.hgetall(self.key).items()
        }

    def _stored(self) -> dict[str, Any]:
        """Every stored field (no defaults); the cache's own dict: do not modify it."""
        stored: dict[str, Any] = self._cache.read(self.key, self._fetch)
        return stored

    def __getitem__(self, field: str) -> Any:
        stored = self._stored()
        if field in stored:
            return stored[field]
        if field in self.defaults:
            return self.defaults[field]
        raise KeyError(field)

    def get(self, field: str, default: Any = None) -> Any:
        stored = self._stored()
        if field in stored:
            return stored[field]
        return self.defaults.get(field, default)

    def __setitem__(self, field: str, value: Any) -> None:
        self.update({field: value})

    def __delitem__(self, field: str) -> None:
        stamp = self._cache.stamp(self.key)
        removed = self._redis.hdel(self.key, field)
        self._cache.wrote(self.key, stamp, lambda old: {k: v for k, v in old.items() if k != field})
        if not removed and field not in self.defaults:
            raise KeyError(field)

    def __iter__(self) -> Iterator[str]:
        return iter(self.get_all())

    def __len__(self) -> int:
        return len(self.get_all())

    def get_all(self) -> dict[str, Any]:
        """Defaults overlaid with every stored field, in one round trip (none when cached)."""
        values = dict(self.defaults)
        values.update(self._stored())
        return values

    def update(  # type: ignore[override]
        self, other: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), **kwargs: Any
    ) -> None:
        """Write several fields in one round trip."""
        values = dict(other, **kwargs)
        if not values:
            return
        encoded = {k: _encode(v) for k, v in values.items()}
        stamp = self._cache.stamp(self.key)
        # hset()'s `mapping` has an invariant key type: a dict[str, str] is refused as is.
        self._redis.hset(self.key, mapping=cast("Mapping[FieldT, EncodableT]", encoded))
        written = {k: _decode(v) for k, v in encoded.items()}  # a copy, as a reader would get
        self._cache.wrote(self.key, stamp, lambda old: {**old, **written})

    def clear(self) -> None:
        stamp = self._cache.stamp(self.key)
        self._redis.delete(self.key)
        self._cache.wrote(self.key, stamp, lambda _old: {})

    def __repr__(self) -> str:
        return f"<HashSetting {self.key} {self.get_all()!r}>"


class SettingsStore:
    """Creates settings on one Redis connection; handed to devices by the configuration.

    With `follow_changes`, values are cached and kept coherent with every other process
    (see the module docstring); `on_change(name, callback)` is then called whenever
    setting `name` changes, whoever changed it (this process included).
    """

    def __init__(self, redis: Redis, *, follow_changes: bool = False):
        self.redis = redis
        self._cache = SettingsCache()
        self._feed: InvalidationFeed | None = None
        self._follow = follow_changes and _gevent_sockets()
        self._closed = False
        self._starting = False  # a greenlet is connecting a feed: the others read through
        self._missed = False  # a feed was lost: changes made since then went unheard
        self._cache.enabled = self._feed_running

    def value(self, name: str, default: Any = None) -> SimpleSetting:
        return SimpleSetting(self.redis, name, default, cache=self._cache)

    def mapping(self, name: str, defaults: Mapping[str, Any] | None = None) -> HashSetting:
        return HashSetting(self.redis, name, defaults, cache=self._cache)

    def on_change(self, name: str, callback: Callable[[], None]) -> None:
        """Call `callback()` (in the feed's greenlet) each time setting `name` changes.

        Callbacks must be quick and must not raise (a failure is printed, not propagated).
        After the connection to Redis was lost, every callback is called once when it is
        back (anything may have changed meanwhile): not while Redis is away, when a callback
        that reads a setting could only fail.
        """
        self._cache.add_callback(settings_key(self.redis, name), callback)
        self._feed_running()

    def remove_callback(self, name: str, callback: Callable[[], None]) -> None:
        self._cache.remove_callback(settings_key(self.redis, name), callback)

    def catch_up(self, timeout: float = 10.0) -> bool:
        """Wait until every change made (by anyone) before this call has been heard here.

        Redis sends invalidations in order, so once the one for a key written now arrives,
        the earlier ones have arrived too. False if not following, or on timeout.
        """
        if not self._feed_running():
            return False
        import uuid

        import gevent.event

        key = settings_key(self.redis, f".catch_up:{uuid.uuid4().hex}")
        heard = gevent.event.Event()
        self._cache.add_callback(key, heard.set)
        try:
            self.redis.set(key, 1, ex=60)
            return heard.wait(timeout)
        finally:
            self._cache.remove_callback(key, heard.set)
            self.redis.delete(key)

    @property
    def following(self) -> bool:
        """True while changes made elsewhere are followed (reads are then cached)."""
        return self._feed is not None and self._feed.running

    def _feed_running(self) -> bool:
        """Is the feed running? (Started, or restarted after a lost connection, on demand.)"""
        if not self._follow or self._closed:
            return False
        feed = self._feed
        if feed is not None and feed.running:
            return True
        if self._starting:
            return False  # another greenlet is connecting it: read through meanwhile
        from beamshell.config.settings_feed import FeedUnavailable, InvalidationFeed

        self._starting = True
        try:
            prefix = settings_key(self.redis, "")
            feed = InvalidationFeed(self.redis, prefix, self._cache.invalidate, self._feed_lost)
        except FeedUnavailable as exc:
            if exc.permanent:  # a server without client tracking (Redis < 6), or an ACL
                self._follow = False
            return False  # read through: a Redis that is away is then reported by the read
        finally:
            self._starting = False
        if self._closed:  # closed while the feed connected
            feed.close()
            return False
        self._feed = feed
        if self._missed:  # changes made while no feed ran were not heard: tell everyone now
            self._missed = False
            self._cache.invalidate(None)
        return True

    def _feed_lost(self) -> None:
        """The feed's connection broke: nothing cached can be trusted any more. Follow again
        at once if Redis still answers (a dropped connection), else on a later read."""
        self._cache.forget()
        self._missed = True
        self._feed_running()

    def close(self) -> None:
        """Stop following changes (values are read from Redis afterwards)."""
        self._closed = True
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.close()
        self._cache.forget()


def _gevent_sockets() -> bool:
    """The feed is a greenlet blocked on a socket: it only runs if sockets are gevent's."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket"))
