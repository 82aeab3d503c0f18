"""The YAML configuration tree: find named objects, build each once, report errors with file:line.

Layout: a directory of `*.yml` files; each holds a mapping or a list of mappings. A mapping
with `name:` is an object. It is built by its own `class:`, or, if it has none, by the
nearest enclosing mapping that has one (a controller with its `axes:`). `__init__.yml` in a
folder gives defaults to every entry in the files below it. `$name` in a value refers to
another object. Errors are collected per file and per object: a broken file or object
does not stop the others; asking for the broken one raises its error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beamshell.config.registry import resolve_class
from beamshell.config.yaml_loader import LineDict, load_yaml_file
from beamshell.errors import BeamshellError, ConfigError

if TYPE_CHECKING:
    from beamshell.config.redis_access import BeamshellRedis
    from beamshell.config.settings import SettingsStore
    from beamshell.errors import RedisAccessDenied, RedisUnreachable

CONFIG_ENV = "BEAMSHELL_CONFIG"
DEMO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "demo_config"
# Keys of the root __init__.yml that configure beamshell itself and are not object defaults.
ROOT_SETTINGS_KEYS = frozenset(
    {
        "redis_url",
        "redis_password_file",
        "redis_key_prefix",
        "packages",
        "plot",
        "scan_data_expiration",
        "scan_lease_time",
    }
)
# Keys that every object may carry whatever its class.
COMMON_KEYS = frozenset({"name", "class", "plugin"})


def resolve_config_dir(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """`config_dir` if given, else $BEAMSHELL_CONFIG, else the demo configuration shipped inside."""
    chosen = config_dir or os.environ.get(CONFIG_ENV) or DEMO_CONFIG_DIR
    path = Path(chosen).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError(f"configuration directory not found: {path}")
    return path


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$") and len(value) > 1


class ConfigNode:
    """One object's configuration: its keys, where each was written, and inherited defaults."""

    def __init__(
        self,
        config: Config,
        data: LineDict,
        defaults: dict[str, Any] | None = None,
    ):
        self._config = config
        self._data = data
        self.defaults = defaults or {}

    @property
    def name(self) -> str | None:
        return self._data.get("name")

    @property
    def filename(self) -> str:
        return self._data.filename

    @property
    def line(self) -> int:
        return self._data.line

    @property
    def config(self) -> Config:
        return self._config

    def line_of(self, key: str) -> int:
        return self._data.line_of(key)

    def keys(self) -> Iterable[str]:
        return self._data.keys()

    def __contains__(self, key: str) -> bool:
        return key in self._data or key in self.defaults

    def raw(self, key: str, default: Any = None) -> Any:
        """The value as written (references unresolved), falling back to inherited defaults."""
        if key in self._data:
            return self._data[key]
        return self.defaults.get(key, default)

    def get(self, key: str, default: Any = None) -> Any:
        """The value with `$name` references (alone or in lists) replaced by the objects."""
        value = self.raw(key, default)
        return self._resolve(value, key)

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            raise self.error(f"missing required key '{key}'")
        return self.get(key)

    def _resolve(self, value: Any, key: str) -> Any:
        if is_reference(value):
            ref = value[1:]
            if ref not in self._config.names_list:
                raise self.error(f"reference '${ref}' to a missing object", key)
            return self._config.get(ref)
        if isinstance(value, list):
            return [self._resolve(item, key) for item in value]
        return value

    def children(self, key: str) -> list[ConfigNode]:
        """Sub-mappings listed under `key` (e.g. a controller's axes), as nodes."""
        items = self.raw(key) or []
        if not isinstance(items, list):
            raise self.error(f"'{key}' must be a list", key)
        nodes = []
        for item in items:
            # Every mapping read from YAML is a LineDict (see yaml_loader).
            if not isinstance(item, LineDict):
                raise self.error(f"every item of '{key}' must be a mapping", key)
            nodes.append(ConfigNode(self._config, item, {}))
        return nodes

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Refuse keys written on this object that its class does not know."""
        allowed = set(allowed) | COMMON_KEYS
        for key in self._data:
            if key not in allowed:
                known = ", ".join(sorted(allowed - COMMON_KEYS))
                raise self.error(f"unknown key '{key}' (known keys: {known})", key)

    def error(self, message: str, key: str | None = None) -> ConfigError:
        line = self.line_of(key) if key else self.line
        return ConfigError(message, self.filename, line, self.name)

    def __repr__(self) -> str:
        return f"<ConfigNode {self.name or '?'} {self.filename}:{self.line}>"


class _Entry:
    """Where a name was found, and which mapping builds its object."""

    __slots__ = ("data", "defaults", "builder")

    def __init__(self, data: LineDict, defaults: dict[str, Any], builder: LineDict | None):
        self.data = data
        self.defaults = defaults
        self.builder = builder  # mapping with `class:` that builds it (itself or an ancestor)


class Config:
    """A loaded configuration directory. `get(name)` builds an object once, then returns it."""

    def __init__(
        self, config_dir: str | os.PathLike[str] | None = None, redis_url: str | None = None
    ):
        self.root_dir = resolve_config_dir(config_dir)
        self._redis_url = redis_url
        self._redis: BeamshellRedis | None = None
        self._settings: SettingsStore | None = None
        self._load()

    # -- loading ---------------------------------------------------------------------
    def _load(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._errors: dict[str, ConfigError] = {}  # object name -> why it cannot be built
        self.file_errors: list[ConfigError] = []  # files that could not be read at all
        self._objects: dict[str, Any] = {}
        self._builders: dict[int, Any] = {}  # id(builder mapping) -> built object
        self._building: set[str] = set()
        self.root: dict[str, Any] = {}
        self._walk_dir(self.root_dir, {}, is_root=True)

    def _walk_dir(self, directory: Path, inherited: dict[str, Any], is_root: bool = False) -> None:
        defaults = dict(inherited)
        init = directory / "__init__.yml"
        if init.is_file():
            try:
                data = load_yaml_file(str(init))
                if data is not None and not isinstance(data, dict):
                    raise ConfigError("__init__.yml must hold a mapping", str(init), 1)
                data = dict(data or {})
                if is_root:
                    self.root = {k: data.pop(k) for k in list(data) if k in ROOT_SETTINGS_KEYS}
                defaults.update(data)
            except ConfigError as exc:
                self.file_errors.append(exc)
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_dir():
                self._walk_dir(path, defaults)
            elif path.suffix == ".yml" and path.name != "__init__.yml":
                self._load_file(path, defaults)

    def _load_file(self, path: Path, defaults: dict[str, Any]) -> None:
        try:
            data = load_yaml_file(str(path))
        except ConfigError as exc:
            self.file_errors.append(exc)
            return
        if data is None:
            return
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, LineDict):  # as every mapping read from YAML
                self.file_errors.append(
                    ConfigError("each entry must be a mapping", str(path), None)
                )
                continue
            self._collect(item, defaults, builder=None)

    def _collect(
        self, mapping: LineDict, defaults: dict[str, Any], builder: LineDict | None
    ) -> None:
        if builder is None and ("class" in mapping or "plugin" in mapping):
            builder = mapping
            mapping.inherited = defaults  # e.g. `controller: {class: ...}` under a wrapper key
        name = mapping.get("name")
        if name is not None:
            self._add_entry(str(name), _Entry(mapping, defaults, builder))
        # Defaults reach the mapping that builds objects, not the items it owns.
        inner_defaults = defaults if builder is None else {}
        for value in mapping.values():
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, LineDict):
                    self._collect(child, inner_defaults, builder)

    def _add_entry(self, name: str, entry: _Entry) -> None:
        here = f"{entry.data.filename}:{entry.data.line}"
        if name in self._entries or name in self._errors:
            first = self._entries.pop(name, None)
            if first is not None:
                where = f"{first.data.filename}:{first.data.line}"
            else:  # a third definition: the error of the second names the last place
                where = self._errors[name].reason.rsplit(" and ", 1)[-1]
            self._errors[name] = ConfigError(
                f"duplicate name, defined in {where} and {here}",
                entry.data.filename,
                entry.data.line,
                name,
            )
            return
        self._entries[name] = entry

    # -- public API ----------------------------------------------------------------------
    @property
    def names_list(self) -> list[str]:
        """Every object name in the tree (broken ones included: asking for them says why)."""
        return sorted(set(self._entries) | set(self._errors))

    @property
    def errors(self) -> dict[str, ConfigError]:
        return dict(self._errors)

    def display_path(self, filename: str) -> str:
        """A file of the tree as written relative to the configuration directory."""
        try:
            return str(Path(filename).relative_to(self.root_dir))
        except ValueError:
            return filename

    def failed_file_defining(self, name: str) -> ConfigError | None:
        """The load error of a file that failed and whose text defines `name`, if any.

        A file that failed to load cannot be parsed, so it is searched as text for a
        `name: <name>` entry: enough to tell the operator where a missing object went.
        """
        if not self.file_errors:
            return None
        pattern = re.compile(
            r"(?:^|[\s{,-])name\s*:\s*(['\"]?)" + re.escape(name) + r"\1\s*(?:$|[,}#])",
            re.MULTILINE,
        )
        for error in self.file_errors:
            if not error.filename:
                continue
            try:
                text = Path(error.filename).read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            if pattern.search(text):
                return error
        return None

    def missing_object_error(self, name: str) -> BeamshellError:
        """Why there is no object `name`: its file failed to load, or it is nowhere."""
        failed = self.failed_file_defining(name)
        if failed is not None:
            return ConfigError(
                f"defined in {self.display_path(failed.filename or '')}, which failed to load: "
                f"{failed}",
                name=name,
            )
        return BeamshellError(f"no object named '{name}' in configuration {self.root_dir}")

    def get_config(self, name: str) -> ConfigNode:
        """The configuration node of `name` (without building the object)."""
        if name in self._errors:
            raise self._errors[name]
        entry = self._entries.get(name)
        if entry is None:
            raise self.missing_object_error(name)
        return ConfigNode(self, entry.data, entry.defaults)

    def get(self, name: str) -> Any:
        """The object called `name`, built on first use and the same instance afterwards."""
        if name in self._objects:
            return self._objects[name]
        node = self.get_config(name)
        if name in self._building:
            raise node.error("circular reference")
        entry = self._entries[name]
        self._building.add(name)
        try:
            obj = self._build(name, node, entry)
        except ConfigError:
            raise
        except BeamshellError as exc:
            raise node.error(str(exc)) from exc
        finally:
            self._building.discard(name)
        self._objects[name] = obj
        return obj

    def _build(self, name: str, node: ConfigNode, entry: _Entry) -> Any:
        if entry.builder is None:
            return node  # a plain configuration entry with no class: its node is the object
        builder_node = ConfigNode(self, entry.builder, getattr(entry.builder, "inherited", {}))
        key = id(entry.builder)
        if key not in self._builders:
            cls = self._class_of(builder_node)
            self._builders[key] = cls.from_config(builder_node, self)
        built = self._builders[key]
        if entry.builder is entry.data:
            return built
        # A named item inside a controller: the controller hands it out.
        return built.get_object(name)

    def _class_of(self, node: ConfigNode) -> type[Any]:
        spec = node.raw("class") or node.raw("plugin")
        key = "class" if node.raw("class") else "plugin"
        return resolve_class(
            str(spec),
            tuple(self.root.get("packages") or ()),
            filename=node.filename,
            line=node.line_of(key),
            name=node.name,
        )

    def reload(self) -> None:
        """Read the files again; objects are built anew on their next `get`."""
        self._load()

    # -- Redis -----------------------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        if self._redis_url is None:
            from beamshell.config.redis_server import resolve_redis_url

            # BEAMSHELL_REDIS_URL, then the root's redis_url, then the embedded server.
            self._redis_url = resolve_redis_url(self.root_dir)
        return self._redis_url

    @property
    def redis(self) -> BeamshellRedis:
        """The Redis client for settings and data (connects on first use)."""
        if self._redis is None:
            from beamshell.config.redis_server import connect

            # The password and key prefix also come from this configuration's root.
            self._redis = connect(self.redis_url, config_dir=self.root_dir)
        return self._redis

    def redis_failure(
        self, exc: BaseException, in_session: bool = False
    ) -> RedisAccessDenied | RedisUnreachable | None:
        """The one-line error for a redis-py failure of this configuration's Redis, or None.

        It names the URL (password masked) and says what to do: start the server, check the
        credentials, fix the ACL. None for an exception that is not about Redis.
        """
        import redis

        if not isinstance(exc, redis.RedisError):
            return None
        client = self._redis
        if client is not None and hasattr(client, "failure"):
            return client.failure(exc, in_session=in_session)
        from beamshell.config.redis_access import redis_failure

        return redis_failure(exc, self._redis_url or "Redis")

    @property
    def settings(self) -> SettingsStore:
        """Factory of persisted settings for devices, scan numbering and saving; it follows
        changes made by other processes (see config.settings)."""
        if self._settings is None:
            from beamshell.config.settings import SettingsStore

            self._settings = SettingsStore(self.redis, follow_changes=True)
        return self._settings

    def close(self) -> None:
        if self._settings is not None:
            self._settings.close()
        if self._redis is not None:
            self._redis.close()
            self._redis = None
            self._settings = None

    def __repr__(self) -> str:
        return f"<Config {self.root_dir} ({len(self._entries)} objects)>"


class ConfigRegistry:
    """The configurations of this process by directory: what `get_config()` returns.

    One per process, owned here and changed only through the functions below: code in a
    session gets the session's own Config (the session registers it while it is open).
    """

    def __init__(self) -> None:
        self._configs: dict[Path, Config] = {}

    def get(self, config_dir: str | os.PathLike[str] | None, redis_url: str | None) -> Config:
        path = resolve_config_dir(config_dir)
        config = self._configs.get(path)
        if config is None or (redis_url and config._redis_url not in (None, redis_url)):
            config = Config(path, redis_url)
            self._configs[path] = config
        elif redis_url and config._redis_url is None:
            config._redis_url = redis_url
        return config

    def register(self, config: Config) -> None:
        self._configs[config.root_dir] = config

    def unregister(self, config: Config) -> None:
        if self._configs.get(config.root_dir) is config:
            del self._configs[config.root_dir]


_REGISTRY = ConfigRegistry()


def get_config(
    config_dir: str | os.PathLike[str] | None = None, redis_url: str | None = None
) -> Config:
    """The configuration of `config_dir` (default: see resolve_config_dir), loaded once."""
    return _REGISTRY.get(config_dir, redis_url)


def register_config(config: Config) -> None:
    """Make `config` the one `get_config()` returns for its directory (a session does this)."""
    _REGISTRY.register(config)


def unregister_config(config: Config) -> None:
    """A closing session: `get_config()` no longer returns its Config."""
    _REGISTRY.unregister(config)
