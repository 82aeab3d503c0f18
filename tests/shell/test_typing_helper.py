"""The typing helper turns `name arg arg` into a call and leaves Python alone."""

import pytest

from beamshell.shell.typing_helper import apply_typing_helper


def wa():
    pass


def umv(*args):
    pass


class Axis:
    pass


NAMESPACE = {"wa": wa, "umv": umv, "ct": umv, "loopscan": umv, "m1": Axis(), "Axis": Axis}


@pytest.mark.parametrize(
    "line, expected",
    [
        ("wa", "wa()"),
        ("  wa  ", "wa()"),
        ("umv m1 2", "umv(m1, 2)"),
        ("umv m1 -2.5", "umv(m1, -2.5)"),
        ("ct 0.1", "ct(0.1)"),
        ("loopscan 10 0.1 run=False", "loopscan(10, 0.1, run=False)"),
        ("print 'hello'", "print('hello')"),  # builtins count as commands
    ],
)
def test_command_lines_become_calls(line, expected):
    assert apply_typing_helper(line, NAMESPACE) == expected


@pytest.mark.parametrize(
    "line",
    [
        "wa()",
        "umv(m1, 2)",
        "m1",  # an object that is not callable is shown, not called
        "Axis",  # a class is not instantiated behind the operator's back
        "x = 3",
        "umv(m1, 2) if True else None",
    ],
)
def test_python_stays_python(line):
    assert apply_typing_helper(line, NAMESPACE) == line


def test_lone_function_is_called():
    assert apply_typing_helper("umv", NAMESPACE) == "umv()"


@pytest.mark.parametrize(
    "line",
    [
        "undefined_name 1 2",  # not a known command: Python's NameError/SyntaxError says so
        "m1 2",  # m1 is not callable
        "umv m1 2)",  # an argument that is no expression
        "umv m1 ==2",
        "for x in",  # broken Python stays broken, reported as typed
        "%timeit wa()",
        "!ls",
        "m1?",
        "umv??",
        "if True:\n    umv m1 2",  # several lines: never rewritten
        "",
    ],
)
def test_other_lines_are_left_unchanged(line):
    assert apply_typing_helper(line, NAMESPACE) == line


def test_keywords_are_not_commands():
    assert apply_typing_helper("pass 1", {"pass": wa}) == "pass 1"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("wa; ct 0.1", "wa(); ct(0.1)"),
        ("umv m1 1 m2 2", "umv(m1, 1, m2, 2)"),
        ("ct -1", "ct(-1)"),  # an argument, not `ct - 1`
        ("ct -m1.position", "ct(-m1.position)"),
        ("umv m1 -0.5", "umv(m1, -0.5)"),
        ("sync(); wa", "sync(); wa()"),
        ("ct -1; wa", "ct(-1); wa()"),
        ('x = "a;b"; wa', 'x = "a;b"; wa()'),  # only top-level semicolons cut
    ],
)
def test_each_statement_is_helped_and_signs_are_arguments(line, expected):
    namespace = dict(NAMESPACE, sync=wa, m2=Axis())
    assert apply_typing_helper(line, namespace) == expected


@pytest.mark.parametrize("line", ["ct - 1", "x -1", "wa(); x = 2", "m1 -1"])
def test_real_subtractions_and_plain_statements_stay(line):
    assert apply_typing_helper(line, dict(NAMESPACE, x=3)) == line
