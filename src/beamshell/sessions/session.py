"""Load a session: its objects into a namespace, included sessions first, then its setup file."""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from beamshell.config.redis_access import mask_secrets
from beamshell.config.static import Config, register_config, resolve_config_dir, unregister_config
from beamshell.errors import BeamshellError, ConfigError
from beamshell.sessions.error_history import ErrorHistory
from beamshell.sessions.file_writer import FileWriterLink
from beamshell.sessions.session_config import SessionConfig

log = logging.getLogger(__name__)

SCAN_ABORT_TIMEOUT_S = 30.0  # a scan still running when its session closes, to stop

if TYPE_CHECKING:
    from types import SimpleNamespace

    from beamshell.hardware.axis import Axis
    from beamshell.scanning.context import ScanEnvironment
    from beamshell.scanning.scan import Scan
    from beamshell.sessions.live_plot import LivePlot
    from beamshell.sessions.session_config import Alias


class Session:
    """A loaded session: `env_dict` is the operator's namespace; `close()` stops what it started."""

    def __init__(self, name: str, config: Config, out: TextIO | None = None):
        self.name = name
        self.config = config
        self.env_dict: dict[str, Any] = {}
        self.load_report: list[str] = []
        self.error_history = ErrorHistory(explain=self._explain_error)
        self.objects: dict[str, Any] = {}  # namespace name -> configured object
        self.failed_objects: dict[str, BaseException] = {}
        self.scan_env: ScanEnvironment | None = None
        self.live_plot: LivePlot | None = None  # plot(live=True): drawn above the toolbar
        self.session_config: SessionConfig | None = None
        self.file_writer = FileWriterLink(name, config.root_dir, config.redis, config.redis_url)
        self._out = out
        self._closed = False

    def _explain_error(self, exc: BaseException) -> BaseException | None:
        """A Redis failure as one line with the URL and what to do (None for other errors)."""
        return self.config.redis_failure(exc, in_session=True)

    # -- loading ---------------------------------------------------------------------------
    def _report(self, line: str) -> None:
        line = mask_secrets(line)
        self.load_report.append(line)
        if self._out is not None:
            print(line, file=self._out, flush=True)

    def _load(self) -> None:
        for error in self.config.file_errors:  # each hides the objects its file defines
            self._report(f"ERROR {error}")
        self._end_abandoned_scans()
        chain = self._session_chain(self.name, [])
        main = chain[-1]
        self.session_config = main
        excluded = set(main.exclude_objects)
        self._build_namespace()
        for session_config in chain:
            for object_name in self._object_names(session_config):
                if object_name in excluded or object_name in self.objects:
                    continue
                self._load_object(object_name, session_config)
            for alias in session_config.aliases:
                self._apply_alias(alias, session_config)
            self._refresh_active_mg()
            if session_config.setup_file is not None:
                self._run_setup_file(session_config)
        self.file_writer.follow()  # first: nothing the writer says from now on is missed
        assert self.scan_env is not None  # made with the namespace, above
        self._report(self.file_writer.ensure_running(self.scan_env.scan_saving.writer))

    def axes(self) -> list[Axis]:
        """Every axis of the session (their positions are recorded in each scan)."""
        from beamshell.hardware.axis import Axis

        return [obj for obj in self.objects.values() if isinstance(obj, Axis)]

    def _end_abandoned_scans(self) -> None:
        """Scans of this session left running by a process that was killed: end them KILLED.

        Followers do this too (see beamshell.data.lease); a session opening makes sure it
        happens even when nobody follows.
        """
        import redis

        from beamshell.data.lease import end_abandoned_in_session

        try:
            ended = end_abandoned_in_session(self.config.redis, self.name)
        except redis.ResponseError as exc:  # a Redis user without scripting rights
            log.warning("cannot end scans left running by a killed process: %s", exc)
            return
        for db_name in ended:
            self._report(f"Scan {db_name} was left running by a process that died: ended KILLED")

    def _session_chain(self, name: str, seen: list[str]) -> list[SessionConfig]:
        """Included sessions first (depth first), each once, the session itself last."""
        if name in seen:
            raise BeamshellError(f"session '{name}' includes itself: {' -> '.join(seen + [name])}")
        if name not in self.config.names_list:
            sessions = ", ".join(list_sessions(self.config)) or "none"
            raise BeamshellError(
                f"no session '{name}' in configuration {self.config.root_dir} "
                f"(sessions: {sessions})"
            )
        session_config = self.config.get(name)
        if not isinstance(session_config, SessionConfig):
            raise BeamshellError(f"'{name}' is not a session (it has no 'class: Session')")
        chain: list[SessionConfig] = []
        for included in session_config.include_sessions:
            for item in self._session_chain(included, seen + [name]):
                if item.name not in {c.name for c in chain}:
                    chain.append(item)
        chain.append(session_config)
        return chain

    def _object_names(self, session_config: SessionConfig) -> list[str]:
        if session_config.config_objects is not None:
            return list(session_config.config_objects)
        return [n for n in self.config.names_list if not _is_session_entry(self.config, n)]

    def _load_object(self, object_name: str, session_config: SessionConfig) -> None:
        try:
            if object_name not in self.config.names_list:
                failed = self.config.failed_file_defining(object_name)
                if failed is not None:
                    where = self.config.display_path(failed.filename or "")
                    raise BeamshellError(f"defined in {where}, which failed to load: {failed}")
                raise session_config.error(
                    f"config-objects: no object named '{object_name}' in the configuration",
                    "config-objects",
                )
            obj = self.config.get(object_name)
        except Exception as exc:  # one broken device must not stop the session
            self.failed_objects[object_name] = exc
            self.error_history.record(type(exc), exc, exc.__traceback__)
            self._report(f"ERROR {object_name}: {self.error_history.explain(exc)}")
            return
        self.objects[object_name] = obj
        self.env_dict[object_name] = obj
        self._report(f"Initialized {object_name}")

    def _apply_alias(self, alias: Alias, session_config: SessionConfig) -> None:
        obj = self.objects.pop(alias.original_name, None)
        if obj is None:
            self._report(
                f"ERROR alias {alias.alias_name}: no object '{alias.original_name}' "
                f"in session {session_config.name}"
            )
            return
        self.env_dict.pop(alias.original_name, None)
        if hasattr(obj, "name"):
            obj.name = alias.alias_name  # columns and listings show the alias
        self.objects[alias.alias_name] = obj
        self.env_dict[alias.alias_name] = obj
        self._report(f"Alias {alias.alias_name} -> {alias.original_name}")

    def _run_setup_file(self, session_config: SessionConfig) -> None:
        path = session_config.setup_file
        assert path is not None  # only called when the session has one
        try:
            with contextlib.redirect_stdout(self._out or sys.stdout):
                run_script(path, self.env_dict)
        except Exception as exc:
            self.error_history.record(type(exc), exc, exc.__traceback__)
            shown = self.error_history.explain(exc)
            self._report(
                f"ERROR in setup file {_where(exc, path)}: {type(shown).__name__}: {shown}"
            )

    # -- namespace -----------------------------------------------------------------------
    def _build_namespace(self) -> None:
        from beamshell.sessions.namespace import build_namespace

        build_namespace(self)

    def _refresh_active_mg(self) -> None:
        if self.scan_env is not None:
            self.env_dict["ACTIVE_MG"] = self.scan_env.active_mg()

    # -- scripts ---------------------------------------------------------------------------
    def user_script_run(self, path: str | os.PathLike[str]) -> None:
        """Run a macro file in the session's namespace: what it defines stays available."""
        run_script(self._script_path(path), self.env_dict)

    def user_script_load(
        self, path: str | os.PathLike[str], export_global: bool = False
    ) -> SimpleNamespace:
        """Run a macro file in a copy of the namespace; return what it defined.

        With `export_global=True` its definitions are also put in the session's namespace.
        """
        from types import SimpleNamespace

        namespace = dict(self.env_dict)
        run_script(self._script_path(path), namespace)
        missing = object()
        defined = {
            k: v
            for k, v in namespace.items()
            if not k.startswith("__") and self.env_dict.get(k, missing) is not v
        }
        if export_global:
            self.env_dict.update(defined)
        return SimpleNamespace(**defined)

    def _script_path(self, path: str | os.PathLike[str]) -> Path:
        candidate = Path(path).expanduser()
        if not candidate.is_absolute() and not candidate.exists():
            in_config = self.config.root_dir / candidate
            if in_config.exists():
                candidate = in_config
        if not candidate.is_file():
            raise FileNotFoundError(f"no script file {path}")
        return candidate.resolve()

    # -- closing ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop moving axes and running greenlets of the session; release its Redis client."""
        if self._closed:
            return
        self._closed = True
        self.file_writer.close()
        scan = getattr(self.scan_env, "current_scan", None)
        if scan is not None:  # running in the background (gevent.spawn(s.run)): abort it
            try:
                _abort_background_scan(scan)
            except Exception:  # closing must go on
                log.exception("closing session %s: aborting scan %s failed", self.name, scan.name)
        from beamshell.hardware.axis import Axis

        for obj in list(self.objects.values()):
            if isinstance(obj, Axis) and obj.moving_here:  # another process's move goes on
                try:
                    obj.stop()
                except Exception:  # closing must go on for the other devices
                    log.exception("closing session %s: stopping %s failed", self.name, obj.name)
        if self.scan_env is not None:
            from beamshell.scanning import context

            context.release_default_environment(self.scan_env)
        unregister_config(self.config)
        self.config.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Session {self.name} ({len(self.objects)} objects, {self.config.root_dir})>"


def _abort_background_scan(scan: Scan) -> None:
    """Abort a scan that runs in a greenlet of its own, and wait until that greenlet ends.

    An abort stops a scan with KeyboardInterrupt (Ctrl-C's path), which then leaves the
    greenlet; gevent throws a KeyboardInterrupt that leaves any greenlet into the main one,
    where it would cut the rest of the closing short. Here that end is the one asked for:
    while the aborted greenlet finishes, the hub neither prints nor re-raises it.
    """
    import gevent

    runner = scan.runner
    hub = gevent.get_hub()
    saved = {
        name: hub.__dict__[name] for name in ("SYSTEM_ERROR", "NOT_ERROR") if name in hub.__dict__
    }
    hub.SYSTEM_ERROR = tuple(t for t in hub.SYSTEM_ERROR if not issubclass(t, KeyboardInterrupt))
    hub.NOT_ERROR = (*hub.NOT_ERROR, KeyboardInterrupt)
    try:
        if not scan.abort(timeout=SCAN_ABORT_TIMEOUT_S):
            log.error("closing: scan %s did not stop", scan.name)
        # A scan run in a plain greenlet (the main one of a script) cannot be joined: its
        # ended run() is all there is to wait for.
        elif isinstance(runner, gevent.Greenlet) and runner is not gevent.getcurrent():
            runner.join(SCAN_ABORT_TIMEOUT_S)  # the rest of its greenlet's code, after run()
    finally:
        for name in ("SYSTEM_ERROR", "NOT_ERROR"):
            if name in saved:
                setattr(hub, name, saved[name])
            else:
                hub.__dict__.pop(name, None)


def run_script(path: Path, namespace: dict[str, Any]) -> None:
    """Execute a Python file in `namespace`, compiled with its path so tracebacks name it."""
    source = Path(path).read_text()
    code = compile(source, str(path), "exec")
    namespace.setdefault("__builtins__", __builtins__)
    previous_file = namespace.get("__file__")
    namespace["__file__"] = str(path)
    try:
        exec(code, namespace)
    finally:
        if previous_file is None:
            namespace.pop("__file__", None)
        else:
            namespace["__file__"] = previous_file


def _where(exc: BaseException, path: Path) -> str:
    """`file:line` of the deepest frame of `exc` inside `path`."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            line = lineno
    if line is None and isinstance(exc, SyntaxError) and exc.filename == str(path):
        line = exc.lineno
    return f"{path}:{line}" if line else str(path)


def _is_session_entry(config: Config, name: str) -> bool:
    try:
        kind: object = config.get_config(name).raw("class")  # whatever the YAML holds
        return kind == "Session"
    except ConfigError:
        return False


def list_sessions(config: Config | str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the sessions defined in a configuration."""
    if not isinstance(config, Config):
        config = Config(resolve_config_dir(config))  # no Redis needed to list names
    return [name for name in config.names_list if _is_session_entry(config, name)]


def load_session(
    name: str,
    config_dir: str | os.PathLike[str] | None = None,
    redis_url: str | None = None,
    out: TextIO | None = None,
) -> Session:
    """Load session `name` of a configuration; `out` receives each loading message as it happens.

    A fresh `Config` is read for each session, and `get_config()` returns it while the
    session is open, so code in the session sees the same objects.
    """
    config = Config(config_dir, redis_url=redis_url)
    _ = config.redis  # fail now, with the URL, if Redis cannot be reached
    register_config(config)
    session = Session(name, config, out)
    try:
        session._load()
    except BaseException as exc:
        session.close()
        explained = config.redis_failure(exc)  # Redis went away while loading: one line
        if explained is not None and explained is not exc:
            raise explained from None
        raise
    return session


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
