"""Lines typed during a command, regrouped into the inputs the prompt would have taken."""

from IPython.core.inputtransformer2 import TransformerManager

from beamshell.shell.queued_input import next_input


def _check(code):
    return TransformerManager().check_complete(code)[0]


def _inputs(lines):
    queued = list(lines)
    taken = []
    while (item := next_input(queued, _check)) is not None:
        taken.append(item)
    return taken


def test_simple_lines_run_one_by_one_and_stray_blank_lines_are_dropped():
    assert _inputs(["wa()", "", "umv m1 2", "", ""]) == [("wa()", True), ("umv m1 2", True)]
    assert _inputs([]) == [] and _inputs(["", " "]) == []


def test_a_block_runs_as_one_input_closed_by_a_blank_line_or_a_dedented_line():
    lines = ["for i in range(2):", "    ascan(m1, 0, i, 2, 0.1)", "", "wa()"]
    assert _inputs(lines) == [("for i in range(2):\n    ascan(m1, 0, i, 2, 0.1)\n", True),
                              ("wa()", True)]  # fmt: skip
    lines = ["if x:", "    a()", "else:", "    b()", "wa()", "ct(1)"]
    assert _inputs(lines) == [("if x:\n    a()\nelse:\n    b()\nwa()", True), ("ct(1)", True)]
    assert _inputs(["x = (1,", "2)", "y"]) == [("x = (1,\n2)", True), ("y", True)]


def test_a_block_not_finished_when_the_lines_run_out_is_left_to_finish():
    assert _inputs(["wa()", "def f(x):", "    return x"]) == [
        ("wa()", True),
        ("def f(x):\n    return x", False),
    ]
    assert _inputs(["1 +* 2", "wa()"]) == [("1 +* 2", True), ("wa()", True)]  # invalid: as is
