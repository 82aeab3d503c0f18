"""ScanSaving: where a session's scan data go, persisted per session in settings."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "base_path": "/tmp/scans",
    "template": "{session}",
    "data_filename": "data",
}


class ScanSaving:
    """Data location of one session: `filename` is `{base_path}/{template}/{data_filename}.h5`.

    `base_path`, `template` and `data_filename` persist in the `scan_saving:<session>` settings
    hash when a settings store is given (else they live in memory). `node_path_parts` are the
    base path's directories, used to name the scans' data nodes
    (`<session>:tmp:scans:<nb>_<name>`).
    """

    _FIELDS = tuple(DEFAULTS)

    def __init__(self, session_name: str, settings=None):
        object.__setattr__(self, "session", session_name)
        if settings is None:
            store: Any = dict(DEFAULTS)
        else:
            store = settings.mapping(f"scan_saving:{session_name}", DEFAULTS)
        object.__setattr__(self, "_store", store)

    def __getattr__(self, name: str) -> Any:
        if name in ScanSaving._FIELDS:
            return self._store[name]
        raise AttributeError(f"ScanSaving has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ScanSaving._FIELDS:
            raise AttributeError(
                f"ScanSaving has no setting '{name}' (settings: {', '.join(self._FIELDS)})"
            )
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"SCAN_SAVING.{name} must be a non-empty string, got {value!r}")
        if name == "base_path" and not value.startswith("/"):
            raise ValueError(f"SCAN_SAVING.base_path must be an absolute path, got {value!r}")
        if name == "template":
            self._check_template(value)
        self._store[name] = value

    @staticmethod
    def _check_template(template: str) -> None:
        try:
            template.format(session="s")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"SCAN_SAVING.template {template!r} may only use {{session}} ({exc})"
            ) from None

    def get(self) -> dict[str, str]:
        """Every setting plus the paths they give, in one mapping."""
        values = dict(self._store.get_all() if hasattr(self._store, "get_all") else self._store)
        values.update(root_path=self._root_path(values), filename=self._filename(values))
        return values

    def _root_path(self, values: dict) -> str:
        sub = values["template"].format(session=self.session)
        return values["base_path"].rstrip("/") + "/" + sub

    def _filename(self, values: dict) -> str:
        return f"{self._root_path(values)}/{values['data_filename']}.h5"

    @property
    def root_path(self) -> str:
        return self._root_path(self.get())

    @property
    def filename(self) -> str:
        """The data file of the session's scans, e.g. /tmp/scans/demo/data.h5."""
        return self.get()["filename"]

    @property
    def node_path_parts(self) -> list[str]:
        return [part for part in self.base_path.split("/") if part]

    def scan_node_name(self, scan_number: int, scan_name: str) -> str:
        """`<session>:<base path parts>:<nb>_<name>`, e.g. demo:tmp:scans:12_loopscan."""
        return ":".join([self.session, *self.node_path_parts, f"{scan_number}_{scan_name}"])

    def __repr__(self) -> str:
        values = self.get()
        width = max(len(key) for key in values)
        lines = [f"Parameters (session '{self.session}')"]
        lines += [f"  .{key:<{width}} = {value!r}" for key, value in values.items()]
        return "\n".join(lines)
