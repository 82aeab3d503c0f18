"""A session's YAML entry (`class: Session`): which objects, setup file, included sessions, aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from beamshell.errors import ConfigError

if TYPE_CHECKING:
    from beamshell.config.static import Config, ConfigNode

_Default = TypeVar("_Default")

SESSION_KEYS = (
    "setup-file",
    "config-objects",
    "include-sessions",
    "exclude-objects",
    "aliases",
    "scan-saving",
)


@dataclass(frozen=True)
class Alias:
    original_name: str
    alias_name: str


@dataclass
class SessionConfig:
    """What the configuration says about one session; loading it is `Session`'s job."""

    name: str
    filename: str
    line: int
    setup_file: Path | None = None
    config_objects: list[str] | None = None  # None: every object of the configuration
    include_sessions: list[str] = field(default_factory=list)
    exclude_objects: list[str] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    object_lines: dict[str, int] = field(default_factory=dict)
    scan_saving: dict[str, Any] = field(default_factory=dict)  # SCAN_SAVING defaults

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> SessionConfig:
        node.check_keys(SESSION_KEYS)
        setup = node.raw("setup-file")
        setup_path = None
        if setup:
            setup_path = Path(setup)
            if not setup_path.is_absolute():
                setup_path = (Path(node.filename).parent / setup_path).resolve()
        aliases = []
        for item in node.raw("aliases") or []:
            if not isinstance(item, dict) or set(item) != {"original_name", "alias_name"}:
                raise node.error(
                    "each alias needs exactly 'original_name' and 'alias_name'", "aliases"
                )
            aliases.append(Alias(str(item["original_name"]), str(item["alias_name"])))
        return cls(
            # A session is an entry of its own, found by its `name:` (a nameless mapping
            # with `class: Session` fails as soon as one of its items is asked for).
            name=cast(str, node.name),
            filename=node.filename,
            line=node.line,
            setup_file=setup_path,
            config_objects=_names(node, "config-objects", default=None),
            include_sessions=_names(node, "include-sessions", default=[]),
            exclude_objects=_names(node, "exclude-objects", default=[]),
            aliases=aliases,
            scan_saving=_scan_saving(node),
            object_lines={
                "config-objects": node.line_of("config-objects"),
                "include-sessions": node.line_of("include-sessions"),
            },
        )

    def error(self, message: str, key: str | None = None) -> ConfigError:
        line = self.line if key is None else self.object_lines.get(key, self.line)
        return ConfigError(message, self.filename, line, self.name)


def _names(node: ConfigNode, key: str, default: _Default) -> list[str] | _Default:
    """A list of object names; `$name` references are accepted and read as names."""
    value = node.raw(key)
    if value is None:
        return default
    if not isinstance(value, list):
        raise node.error(f"'{key}' must be a list of names", key)
    return [str(item)[1:] if str(item).startswith("$") else str(item) for item in value]


def _scan_saving(node: ConfigNode) -> dict[str, Any]:
    """`scan-saving:` defaults of the session's SCAN_SAVING, each checked like at the prompt."""
    from beamshell.scanning.saving import ScanSaving

    value = node.raw("scan-saving")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise node.error("'scan-saving' must be a mapping of SCAN_SAVING settings", "scan-saving")
    for key, item in value.items():
        try:
            ScanSaving.check_setting(str(key), item)
        except ValueError as exc:
            raise node.error(f"scan-saving: {exc}", "scan-saving") from None
    return {str(key): item for key, item in value.items()}
