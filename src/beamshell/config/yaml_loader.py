"""Safe YAML loading that remembers, for every mapping, the file and line of it and of each key."""

from __future__ import annotations

from typing import Any

import yaml

from beamshell.errors import ConfigError


class LineDict(dict[Any, Any]):
    """A mapping from YAML that knows where it was written."""

    filename: str = ""
    line: int = 0
    key_lines: dict[str, int]
    # Defaults from the `__init__.yml` files above, set only on a mapping that builds
    # objects (one with `class:`); the others do not have it.
    inherited: dict[str, Any]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) that builds LineDicts and refuses duplicate keys."""

    filename = ""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict()
        mapping.filename = self.filename
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):  # YAML allows them; no Python mapping does
                raise ConfigError(
                    "a key must be a single value (a name or a number), not a list or a mapping",
                    self.filename,
                    key_node.start_mark.line + 1,
                )
            if key in mapping:
                raise ConfigError(
                    f"duplicate key '{key}'", self.filename, key_node.start_mark.line + 1
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)


def load_yaml_file(path: str) -> Any:
    """Parse one YAML file safely; any failure is a ConfigError naming the file and line."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.__class__.__name__}: {exc}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"cannot read file: not UTF-8 text (byte 0x{byte} at column {column})", path, line
        ) from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, filename: str) -> Any:
    loader = _LineLoader(text)
    loader.filename = filename
    try:
        return loader.get_single_data()
    except yaml.constructor.ConstructorError as exc:
        # A tag such as !!python/object: the safe loader builds plain data only.
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "unknown tag"
        raise ConfigError(
            f"YAML tag refused (only plain data are read): {problem}", filename, line
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"YAML syntax error: {problem}", filename, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", filename) from None
    finally:
        loader.dispose()
