"""ScanSaving: where a session's scans are saved (the data policy), persisted per session.

The file of the next scan is `{base_path}/{template}/{data_filename}.h5`, where `template`
and `data_filename` may use `{session}`, `{date}`, `{user}`, `{proposal}`, `{sample}` and
`{dataset}`. `newproposal`, `newsample` and `newdataset` move the next scans elsewhere.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from beamshell.config.settings import SettingsStore

DATA_HOME_ENV = "XDG_DATA_HOME"
WRITERS = ("hdf5", "null")
TEMPLATE_FIELDS = ("session", "date", "user", "proposal", "sample", "dataset")
DEFAULT_PROPOSAL = "inhouse"
DEFAULT_SAMPLE = "sample"
FIRST_DATASET = "0001"
_NUMBERED = re.compile(r"^(?:(?P<stem>.+)_)?(?P<number>\d{4,})$")
# Names become directory and file names: no separators, no control characters, not "..".
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def default_base_path() -> str:
    """`$XDG_DATA_HOME/beamshell/scans` (default `~/.local/share/beamshell/scans`)."""
    base = os.environ.get(DATA_HOME_ENV) or str(Path.home() / ".local" / "share")
    return str(Path(base) / "beamshell" / "scans")


def builtin_defaults() -> dict[str, Any]:
    return {
        "base_path": default_base_path(),
        "template": "{session}/{proposal}/{sample}/{sample}_{dataset}",
        "data_filename": "{sample}_{dataset}",
        "proposal": DEFAULT_PROPOSAL,
        "sample": DEFAULT_SAMPLE,
        "dataset": FIRST_DATASET,
        "writer": "hdf5",
    }


SETTINGS = tuple(builtin_defaults())
NAME_SETTINGS = ("proposal", "sample", "dataset")


def check_name(what: str, value: Any) -> str:
    """A proposal, sample or dataset name: one path component, printable, not '.' or '..'."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} name must be a non-empty string, got {value!r}")
    if _BAD_NAME.search(value) or value in (".", ".."):
        raise ValueError(
            f"bad {what} name {value!r}: no '/', '\\', '..' or control characters in a name"
        )
    return value


def _check_template(setting: str, template: Any) -> str:
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"SCAN_SAVING.{setting} must be a non-empty string, got {template!r}")
    fields = dict.fromkeys(TEMPLATE_FIELDS, "x")
    try:
        resolved = template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"SCAN_SAVING.{setting} {template!r} may only use "
            + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            + f" ({type(exc).__name__}: {exc})"
        ) from None
    parts = resolved.split("/")
    if setting == "data_filename" and len(parts) > 1:
        raise ValueError(f"SCAN_SAVING.data_filename {template!r} must not contain '/'")
    if template.startswith("/") or ".." in parts:
        raise ValueError(f"SCAN_SAVING.{setting} {template!r} must be a relative path without '..'")
    return template


class ScanSaving:
    """The data policy of one session; every setting persists in `scan_saving:<session>`.

    Defaults come from the session's YAML (`scan-saving:`), else the built-in ones. With
    no settings store (a bare ScanEnvironment) the settings live in memory.
    `writer_status` (given by the session) says whether a writer runs, for the display.
    """

    # Set once, past __setattr__ (which only takes settings).
    session: str
    _store: MutableMapping[str, Any]  # a dict, or the session's HashSetting
    _user: str | None
    _writer_status: Callable[[], str] | None
    # Declared for the type checker only: the settings are read from the store (__getattr__).
    base_path: str
    template: str
    data_filename: str
    proposal: str
    sample: str
    dataset: str
    writer: str

    def __init__(
        self,
        session_name: str,
        settings: SettingsStore | None = None,
        defaults: Mapping[str, Any] | None = None,
        user: str | None = None,
        writer_status: Callable[[], str] | None = None,
    ):
        merged = builtin_defaults()
        for key, value in (defaults or {}).items():
            merged[key] = self.check_setting(key, value)
        if settings is None:
            store: MutableMapping[str, Any] = dict(merged)
        else:
            store = settings.mapping(f"scan_saving:{session_name}", merged)
        object.__setattr__(self, "session", session_name)
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_user", user)
        object.__setattr__(self, "_writer_status", writer_status)

    # ---- settings ----------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in SETTINGS:
            return self._store[name]
        raise AttributeError(
            f"SCAN_SAVING has no attribute '{name}' (settings: {', '.join(SETTINGS)})"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in SETTINGS:
            raise AttributeError(
                f"SCAN_SAVING has no setting '{name}' (settings: {', '.join(SETTINGS)})"
            )
        self._store[name] = self.check_setting(name, value)

    @staticmethod
    def check_setting(name: str, value: Any) -> Any:
        """The value to store for setting `name`, or ValueError saying what is wrong."""
        if name not in SETTINGS:
            raise ValueError(
                f"unknown SCAN_SAVING setting '{name}' (settings: {', '.join(SETTINGS)})"
            )
        if name == "base_path":
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"SCAN_SAVING.base_path must be a non-empty string, got {value!r}")
            if not value.startswith("/"):
                raise ValueError(f"SCAN_SAVING.base_path must be an absolute path, got {value!r}")
            if ".." in value.split("/") or _CONTROL.search(value):
                raise ValueError(f"SCAN_SAVING.base_path {value!r}: no '..' or control characters")
            return value
        if name in ("template", "data_filename"):
            return _check_template(name, value)
        if name == "writer":
            if value is None:
                value = "null"
            if value not in WRITERS:
                raise ValueError(
                    f"SCAN_SAVING.writer must be one of {', '.join(WRITERS)}, got {value!r}"
                )
            return value
        return check_name(name, value)

    def get(self) -> dict[str, Any]:
        """Every setting and the paths they give now, in one mapping (one Redis read)."""
        values = dict(self._store.get_all() if hasattr(self._store, "get_all") else self._store)
        fields = self._fields(values)
        root = values["base_path"].rstrip("/") + "/" + values["template"].format(**fields)
        values.update(
            date=fields["date"],
            user=fields["user"],
            root_path=root,
            filename=f"{root}/{values['data_filename'].format(**fields)}.h5",
        )
        return values

    def _fields(self, values: Mapping[str, Any]) -> dict[str, str]:
        return {
            "session": self.session,
            "date": time.strftime("%Y%m%d"),
            "user": self._user or _user_name(),
            "proposal": values["proposal"],
            "sample": values["sample"],
            "dataset": values["dataset"],
        }

    @property
    def root_path(self) -> str:
        """The directory of the current dataset."""
        root: str = self.get()["root_path"]
        return root

    @property
    def filename(self) -> str:
        """The HDF5 file the next scan goes to."""
        filename: str = self.get()["filename"]
        return filename

    @property
    def saving(self) -> bool:
        """False when the writer is `null`: scans are then not saved to any file."""
        return self.writer != "null"

    # ---- the data policy -----------------------------------------------------------------------
    def newproposal(self, name: str) -> None:
        """Next scans go to proposal `name`, default sample, its first free dataset."""
        self._store.update(proposal=check_name("proposal", name), sample=DEFAULT_SAMPLE)
        self._store["dataset"] = self._free_dataset(None)
        self._announce()

    def newsample(self, name: str) -> None:
        """Next scans go to sample `name` of the current proposal, its first free dataset."""
        self._store["sample"] = check_name("sample", name)
        self._store["dataset"] = self._free_dataset(None)
        self._announce()

    def newdataset(self, name: str | None = None) -> None:
        """Next scans go to a new dataset: `name`, numbered (0001...) if none or if it exists."""
        if name is not None:
            check_name("dataset", name)
        self._store["dataset"] = self._free_dataset(name, skip_current=name is None)
        self._announce()

    def _announce(self) -> None:
        values = self.get()
        print(f"Next scans of session '{self.session}' go to {values['filename']}")

    def _dataset_exists(self, values: dict[str, Any], dataset: str) -> bool:
        trial = dict(values, dataset=dataset)
        fields = self._fields(trial)
        root: Path = Path(trial["base_path"]) / trial["template"].format(**fields)
        return root.exists() or (root / f"{trial['data_filename'].format(**fields)}.h5").exists()

    def _free_dataset(self, name: str | None, skip_current: bool = False) -> str:
        values = dict(self._store.get_all() if hasattr(self._store, "get_all") else self._store)
        if name is not None and not self._dataset_exists(values, name):
            return name
        stem = name
        start = 1 if name is None else 2
        if name is None and skip_current:
            match = _NUMBERED.match(str(values["dataset"]))
            if match and match["stem"] is None:
                start = int(match["number"]) + 1
        number = start
        while True:
            candidate = f"{number:04d}" if stem is None else f"{stem}_{number:04d}"
            if not self._dataset_exists(values, candidate):
                return candidate
            number += 1

    # ---- data nodes ----------------------------------------------------------------------------
    @property
    def node_path_parts(self) -> list[str]:
        return [part for part in self.base_path.split("/") if part]

    def scan_node_name(self, scan_number: int, scan_name: str) -> str:
        """`<session>:<base path parts>:<nb>_<name>`, e.g. demo:tmp:scans:12_loopscan."""
        return ":".join([self.session, *self.node_path_parts, f"{scan_number}_{scan_name}"])

    def __repr__(self) -> str:
        values = self.get()
        writer = values["writer"]
        if writer != "null" and self._writer_status is not None:
            writer = f"{writer} ({self._writer_status()})"
        rows = [
            ("filename", values["filename"]),
            ("proposal", values["proposal"]),
            ("sample", values["sample"]),
            ("dataset", values["dataset"]),
            ("writer", writer),
            ("base_path", values["base_path"]),
            ("template", values["template"]),
            ("data_filename", values["data_filename"]),
        ]
        width = max(len(key) for key, _ in rows)
        lines = [f"SCAN_SAVING of session '{self.session}'"]
        lines += [f"  {key:<{width}}  {value}" for key, value in rows]
        return "\n".join(lines)


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
