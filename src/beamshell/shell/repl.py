"""The interactive prompt: ptpython's interface over IPython, with gevent-aware commands.

IPython executes the input (magics, `?`/`??`, `%timeit`), ptpython draws the prompt, and
each command runs in its own greenlet (see `interrupt.CommandRunner`) so Ctrl-C reaches it.
ptpython's worker threads (threaded completion, auto-suggestion, signatures, history
loading) are replaced by synchronous, I/O-free equivalents: gevent objects must not be
touched from another thread.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any, cast

from IPython.terminal.embed import InteractiveShellEmbed
from IPython.terminal.prompts import Prompts, RichPromptDisplayHook
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory, ConditionalAutoSuggest
from prompt_toolkit.completion import PathCompleter, WordCompleter
from prompt_toolkit.contrib.regular_languages.completion import GrammarCompleter
from prompt_toolkit.contrib.regular_languages.lexer import GrammarLexer
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, is_done
from prompt_toolkit.history import FileHistory
from prompt_toolkit.layout.containers import ConditionalContainer, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.lexers import PygmentsLexer, SimpleLexer
from prompt_toolkit.styles import Style
from ptpython.ipython import MagicsCompleter, create_ipython_grammar
from ptpython.prompt_style import PromptStyle
from ptpython.python_input import PythonInput
from ptpython.repl import PyCF_ALLOW_TOP_LEVEL_AWAIT
from ptpython.style import default_ui_style
from pygments.lexers import BashLexer, PythonLexer
from pygments.token import Token
from traitlets import default
from traitlets.config import Config as TraitletsConfig

from beamshell.shell import queued_input, typeahead
from beamshell.shell.busy_display import CommandDisplay
from beamshell.shell.completion import NamespaceCompleter
from beamshell.shell.interrupt import CommandRunner
from beamshell.shell.line_input import cooperative_input
from beamshell.shell.output_above import OutputAbove
from beamshell.shell.pager import make_pager, paged_help
from beamshell.shell.plot_panel import plot_panel
from beamshell.shell.prompt import continuation_prompt, input_prompt, next_count, output_prompt
from beamshell.shell.refresh import refresh_periodically
from beamshell.shell.toolbar import toolbar_text
from beamshell.shell.typing_helper import apply_typing_helper
from beamshell.text import printable

if TYPE_CHECKING:
    from types import TracebackType

    from gevent import Greenlet
    from IPython.core.interactiveshell import ExecutionResult
    from prompt_toolkit.application import Application
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyPress
    from pygments.token import _TokenType

    from beamshell.hardware.axis import Axis

log = logging.getLogger(__name__)

TOOLBAR_REFRESH_S = 0.5  # the clock and a background scan's progress
PROMPT_FAILURES_TO_LEAVE = 3  # in a row: the prompt cannot recover, the session ends


def _ipython_config() -> TraitletsConfig:
    config = TraitletsConfig()
    # Commands are recorded by ptpython's per-session file; IPython's sqlite history would
    # add a writer thread and a file in the home directory for nothing.
    config.HistoryManager.enabled = False
    config.TerminalInteractiveShell.term_title = False
    config.TerminalInteractiveShell.confirm_exit = False  # ptpython asks on Ctrl-D
    config.TerminalInteractiveShell.autocall = 0  # the typing helper does it, predictably
    config.TerminalInteractiveShell.separate_in = ""
    # Out[n] keeps every result alive; scans hold their data: keep IPython's minimum.
    config.TerminalInteractiveShell.cache_size = 20
    # No IPython PromptSession: ptpython draws the prompt (saves start-up time too).
    config.TerminalInteractiveShell.simple_prompt = True
    return config


class _BeamshellPrompts(Prompts):
    """IPython's prompts, for what IPython prints itself: `Out [3]:` is numbered like the
    input that produced it."""

    shell: BeamshellShell  # IPython annotates its base class; it is always ours here

    def in_prompt_tokens(self) -> list[tuple[_TokenType, str]]:
        return [(Token.Prompt, input_prompt(self.shell.session_name, self.shell.prompt_count))]

    def continuation_prompt_tokens(
        self,
        width: int | None = None,
        *,
        lineno: int | None = None,
        wrap_count: int | None = None,
    ) -> list[tuple[_TokenType, str]]:
        width = width or len(input_prompt(self.shell.session_name, self.shell.prompt_count))
        return [(Token.Prompt, continuation_prompt(width))]

    def rewrite_prompt_tokens(self) -> list[tuple[_TokenType, str]]:
        return []

    def out_prompt_tokens(self) -> list[tuple[_TokenType, str]]:
        count = self.shell.prompt_count
        width = len(input_prompt(self.shell.session_name, count))
        return [(Token.OutPrompt, output_prompt(count, width))]


class _QuietOutputCache(RichPromptDisplayHook):
    """IPython's display of results, whose output cache (`Out`, `_12`) drops its oldest
    entries when full without printing a UserWarning between the operator's results."""

    def cull_cache(self) -> None:
        # A display hook is made by its shell, which sets itself as the hook's `shell`.
        shell = cast(BeamshellShell, self.shell)
        history = shell.user_ns.get("_oh", {})
        oldest = sorted(history)[: max(int(len(history) * self.cull_fraction), 2)]
        for number in oldest:
            shell.user_ns.pop(f"_{number}", None)
            history.pop(number, None)


class _PromptStyle(PromptStyle):
    """ptpython's prompt: `DEMO [1]: ` then `...: ` on continuation lines."""

    def __init__(self, shell: BeamshellShell):
        self._shell = shell

    def in_prompt(self) -> StyleAndTextTuples:
        name = self._shell.session_name.upper()
        return [
            ("class:in", f"{name} ["),
            ("class:in.number", str(self._shell.prompt_count)),
            ("class:in", "]: "),
        ]

    def in2_prompt(self, width: int) -> StyleAndTextTuples:
        return [("class:in", continuation_prompt(width))]

    def out_prompt(self) -> StyleAndTextTuples:
        return []


class _BeamshellInput(PythonInput):
    """ptpython's input for IPython (as ptpython.ipython.IPythonInput, compiling the IPython
    grammar once) with beamshell's toolbar, prompt, completer and no worker threads."""

    def __init__(self, shell: BeamshellShell, history_path: str | None, **kwargs: Any):
        self._beamshell = shell
        namespace = shell.get_namespace
        # ptpython's IPython helpers are unannotated.
        grammar = create_ipython_grammar()  # type: ignore[no-untyped-call]
        kwargs["_completer"] = GrammarCompleter(
            grammar,
            {
                "python": NamespaceCompleter(namespace),
                "magic": MagicsCompleter(shell.magics_manager),  # type: ignore[no-untyped-call]
                "pdb_arg": WordCompleter(["on", "off"], ignore_case=True),
                "py_filename": PathCompleter(file_filter=lambda name: name.endswith(".py")),
                "filename": PathCompleter(),
                "directory": PathCompleter(only_directories=True),
            },
        )
        kwargs["_lexer"] = GrammarLexer(
            grammar,
            lexers={
                "percent": SimpleLexer("class:pygments.operator"),
                "magic": SimpleLexer("class:pygments.keyword"),
                "filename": SimpleLexer("class:pygments.name"),
                "python": PygmentsLexer(PythonLexer),
                "system": PygmentsLexer(BashLexer),
            },
        )
        toolbar = ConditionalContainer(  # not left behind under each accepted input
            Window(
                FormattedTextControl(self._toolbar_fragments),
                height=1,
                style="class:status-toolbar",
            ),
            filter=~is_done,
        )
        panel = plot_panel(  # plot(live=True) while a scan runs in the background
            getattr(shell.session, "live_plot", None), lambda: self.app, shown=~is_done
        )
        super().__init__(_extra_toolbars=[panel, toolbar], **kwargs)
        buffer = self.default_buffer
        buffer.completer = self._completer  # ptpython wraps it in a ThreadedCompleter
        buffer.auto_suggest = ConditionalAutoSuggest(
            AutoSuggestFromHistory(), Condition(lambda: self.enable_auto_suggest)
        )
        buffer.on_text_changed.remove_handler(self._on_input_timeout)  # jedi in a thread
        if history_path:
            self.history = FileHistory(history_path)  # read in this thread, not ThreadedHistory
            buffer.history = self.history
        self.complete_while_typing = False  # Tab opens the menu
        # A line that does not parse is accepted and reported like any failing command: left
        # in the buffer, it would be glued to whatever the operator types next.
        self.enable_input_validation = False
        self.show_signature = False
        self.show_docstring = False
        self.show_status_bar = False
        self.enable_history_search = True  # up-arrow after a prefix finds older commands
        self.all_prompt_styles["beamshell"] = _PromptStyle(shell)
        self.prompt_style = "beamshell"
        style = dict(default_ui_style)
        style.update({"pygments.prompt": "#009900", "pygments.prompt-num": "#00ff00 bold"})
        self.ui_styles = {"default": Style.from_dict(style)}
        self.use_ui_colorscheme("default")

    def get_compiler_flags(self) -> int:
        flags = super().get_compiler_flags()
        if self._beamshell.autoawait:
            flags |= PyCF_ALLOW_TOP_LEVEL_AWAIT
        return flags

    def _toolbar_fragments(self) -> StyleAndTextTuples:
        shell = self._beamshell
        text = toolbar_text(
            shell.session_name,
            shell.current_scan(),
            busy=shell.runner.busy,
            moving=shell.moving_axes(),
        )
        return [("class:status-toolbar", text)]


class BeamshellShell(InteractiveShellEmbed):
    """The IPython shell of a session: runs each input as a Ctrl-C-able greenlet command."""

    @default("displayhook_class")
    def _quiet_output_cache(self) -> type[_QuietOutputCache]:
        return _QuietOutputCache

    def __init__(
        self,
        session: Any,
        runner: CommandRunner,
        history_path: str | None = None,
        **kwargs: Any,
    ):
        self.session = session
        self.session_name = session.name
        self.runner = runner
        self.prompt_count = 1
        self._running_command = False
        # IPython's __init__, set_hook, run_cell, _get_exc_info and mainloop are unannotated.
        super().__init__(  # type: ignore[no-untyped-call]
            config=_ipython_config(), user_ns=session.env_dict, **kwargs
        )
        # simple_prompt installs an input()-based prompt_for_code on the instance: use ours.
        self.__dict__.pop("prompt_for_code", None)
        self.confirm_exit = False
        self.prompts = _BeamshellPrompts(self)
        self.python_input = _BeamshellInput(
            self, history_path, get_globals=self.get_namespace, vi_mode=False
        )
        self._command_display = CommandDisplay(
            self.python_input._toolbar_fragments,
            runner.interrupt,
            self.python_input.app.style,
            live_plot=getattr(session, "live_plot", None),
        )
        self._typeahead = ""
        self._queued: list[str] = []  # lines typed with Enter during the last command
        self._prompt_failures = 0  # in a row: the prompt itself raised
        # `obj?` and `help(obj)`: a text taller than the screen goes to a pager that gets
        # the terminal to itself (see shell.pager); a shorter one is printed.
        page = make_pager(self._command_display.released)
        self.set_hook(  # type: ignore[no-untyped-call]
            "show_in_pager", lambda _shell, data, *args, **kw: page(_page_text(data))
        )

    def get_namespace(self) -> dict[str, Any]:
        namespace: dict[str, Any] = self.user_ns
        return namespace

    def moving_axes(self) -> list[Axis]:
        """The session's axes in a move started here (`m2.move(40, wait=False)` included);
        a memory read, no I/O."""
        from beamshell.hardware.axis import Axis

        objects = getattr(self.session, "objects", {})
        return [obj for obj in objects.values() if isinstance(obj, Axis) and obj.moving_here]

    def current_scan(self) -> Any:
        scan_env = getattr(self.session, "scan_env", None)
        return getattr(scan_env, "current_scan", None) if scan_env is not None else None

    # -- input -----------------------------------------------------------------------------
    def prompt_for_code(self) -> str:
        """Read one input; Ctrl-C clears the line. SIGINT stays with the CommandRunner.

        What greenlets print meanwhile (a scan run in the background) appears above it.
        """
        if self.runner.terminated is not None:
            raise EOFError  # SIGTERM or SIGHUP: leave (IPython's loop ends on EOFError)
        app = self.python_input.app
        buffer = self.python_input.default_buffer
        held: list[KeyPress] = []
        queued = queued_input.next_input(self._queued, lambda code: self.check_complete(code)[0])
        if queued is not None and queued[1]:
            # Shown on its prompt line and accepted at once, as if typed now. Keys typed
            # after it and held by prompt_toolkit wait for the next prompt: fed to this one,
            # they would be appended to the line, their Enter accepting it first.
            line = queued[0]
            held = typeahead.hold(app.input)
            app.pre_run_callables.append(lambda: _accept_once_drawn(app, buffer, line))
        elif queued is not None or self._typeahead:
            # Typed without Enter, or a block whose end was not typed yet: to be finished.
            start = f"{queued[0]}\n" if queued is not None else ""
            text, self._typeahead = start + self._typeahead, ""
            app.pre_run_callables.append(lambda: self.python_input.default_buffer.insert_text(text))
        output = OutputAbove(app)
        app.pre_run_callables.append(output.start)

        def start_refreshing() -> None:
            app.create_background_task(refresh_periodically(app, TOOLBAR_REFRESH_S))

        app.pre_run_callables.append(start_refreshing)
        app.pre_run_callables.append(self._leave_on_termination)
        failure: Exception | None = None
        try:
            code: str = app.run(handle_sigint=False)
            self._prompt_failures = 0
            return code
        except KeyboardInterrupt:
            self.python_input.default_buffer.document = Document()
            return ""
        except EOFError:
            raise  # Ctrl-D, SIGTERM, SIGHUP: leaving, not a fault
        except Exception as exc:
            failure = exc
        finally:
            typeahead.give_back(app.input, held)
            self.runner.on_idle_terminate = None
            output.stop()
        return self._prompt_failed(failure)  # said once the output goes to the terminal again

    def _prompt_failed(self, exc: Exception) -> str:
        """A fault in the prompt's own code ends the input, not the session: the devices,
        a scan running in the background and the namespace stay. Leave if it persists."""
        self._prompt_failures += 1
        if self._prompt_failures >= PROMPT_FAILURES_TO_LEAVE:
            raise exc
        history = self.session.error_history
        history.record(type(exc), exc, exc.__traceback__)
        print(history.format_short(exc, where="the prompt failed"), file=sys.stderr, flush=True)
        return ""

    def _leave_on_termination(self) -> None:
        """While the prompt waits: a SIGTERM or SIGHUP ends it as Ctrl-D would, unasked."""
        app = self.python_input.app
        loop = asyncio.get_running_loop()

        def leave() -> None:
            if app.is_running and app.future is not None and not app.future.done():
                app.exit(exception=EOFError())

        # Called from the signal handler: hand over to the prompt's loop.
        self.runner.on_idle_terminate = lambda: loop.call_soon_threadsafe(leave)
        if self.runner.terminated is not None:  # arrived while the prompt was being set up
            leave()

    # -- execution -------------------------------------------------------------------------
    def run_cell(  # type: ignore[override]  # IPython's keywords pass through **kwargs
        self, raw_cell: str, store_history: bool = False, **kwargs: Any
    ) -> ExecutionResult | None:
        if self._running_command:  # a magic running code inside the command: same greenlet
            inner: ExecutionResult = super().run_cell(  # type: ignore[no-untyped-call]
                raw_cell, store_history=store_history, **kwargs
            )
            return inner
        code = apply_typing_helper(raw_cell, self.user_ns)
        self._running_command = True
        result: ExecutionResult | None = None
        try:
            result = self.runner.run(
                super().run_cell, code, store_history=store_history, show=self._show, **kwargs
            )
            return result
        except KeyboardInterrupt as exc:  # interrupted outside the cell's own code
            self.showtraceback((type(exc), exc, exc.__traceback__))
            return None
        finally:
            if not getattr(result, "success", False):
                self._drop_queued_lines()
            self._running_command = False
            self.prompt_count = next_count(self.prompt_count, raw_cell)

    def _drop_queued_lines(self) -> None:
        """After an error: the lines typed for after the command do not run (they said so)."""
        lines = self._queued + typeahead.drop_lines(self.python_input.app.input)
        dropped = [line for line in lines if line.strip()]
        self._queued = []
        if dropped:
            print(f"(not run after the error: {printable('; '.join(dropped))})", file=sys.stderr)

    def _show(self, greenlet: Greenlet[..., Any]) -> None:
        try:
            queued, typed = self._command_display.run_until_done(greenlet)
            self._queued += queued
            self._typeahead += typed
        except Exception as exc:  # noqa: BLE001 - the command goes on without its toolbar
            log.warning("(toolbar unavailable: %s)", exc)

    # -- errors ----------------------------------------------------------------------------
    def showtraceback(  # type: ignore[override]  # IPython's keywords pass through **kwargs
        self,
        exc_tuple: tuple[type[BaseException], BaseException, TracebackType | None] | None = None,
        filename: str | None = None,
        tb_offset: int | None = None,
        **kwargs: Any,
    ) -> None:
        """One short line; the full traceback is kept for `last_error()`."""
        try:
            exc_type, exc, tb = self._get_exc_info(exc_tuple)  # type: ignore[no-untyped-call]
        except ValueError:
            return
        history = self.session.error_history
        history.record(exc_type, exc, tb)
        print(history.format_short(exc), file=sys.stderr, flush=True)


def _accept_once_drawn(app: Application[Any], buffer: Buffer, line: str) -> None:
    """Put `line` in the prompt and accept it after it was drawn, so it stays on screen."""
    buffer.insert_text(line)

    def accept(_app: Application[Any]) -> None:
        app.after_render -= accept
        if not app.is_done:  # (something else ended the prompt first: it must not fail)
            buffer.validate_and_handle()

    app.after_render += accept


def _page_text(data: Any) -> str:
    if isinstance(data, dict):  # IPython passes a mime bundle
        return str(data.get("text/plain", ""))
    return str(data)


def run_repl(session: Any, history_path: str | None, runner: CommandRunner) -> None:
    """Prompt until the operator leaves (Ctrl-D, confirmed, or `exit`)."""
    shell = BeamshellShell(session, runner, history_path)
    released = shell._command_display.released
    try:
        with cooperative_input(released), paged_help(released):
            shell.mainloop()  # type: ignore[no-untyped-call]
    finally:
        shell.python_input.history = None  # type: ignore[assignment]  # release the file first
