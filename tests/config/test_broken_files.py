"""Files that fail to load: every kind is recorded with its file and line, and the objects
they define are reported missing *because* of that file, not as unknown names."""

import textwrap

import pytest

from beamshell.config.static import Config
from beamshell.errors import BeamshellError, ConfigError

GOOD = "- {name: ok, class: simulation_diode}\n"

BROKEN = {
    # name: (file content, line of the error, words of the message)
    "syntax": ("- name: tz\n  class: mockup\n  axes: [unclosed\n", 4, "YAML syntax error"),
    "tab": ("- name: tz\n  class: simulation_diode\n\tlevel: 3\n", 3, "'\\t'"),
    "duplicate_key": (
        "- name: tz\n  class: simulation_diode\n  level: 1\n  level: 2\n",
        4,
        "duplicate key 'level'",
    ),
    "list_key": (
        "- name: tz\n  class: simulation_diode\n  ? [level]\n  : 3\n",
        3,
        "a key must be a single value (a name or a number), not a list or a mapping",
    ),
    "mapping_key": (
        "- name: tz\n  class: simulation_diode\n  {level: 1}: 3\n",
        3,
        "a key must be a single value",
    ),
    "python_tag": (
        "- name: tz\n  class: simulation_diode\n  level: !!python/object/apply:os.getcwd []\n",
        3,
        "YAML tag refused",
    ),
}


def make_tree(tmp_path, broken_text: str | bytes):
    (tmp_path / "good.yml").write_text(GOOD)
    path = tmp_path / "more_motors.yml"
    if isinstance(broken_text, bytes):
        path.write_bytes(broken_text)
    else:
        path.write_text(broken_text)
    return path


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_each_kind_of_broken_file_names_file_line_and_its_objects(tmp_path, kind):
    text, line, words = BROKEN[kind]
    path = make_tree(tmp_path, text)
    config = Config(tmp_path)
    (error,) = config.file_errors
    assert error.filename == str(path) and error.line == line, str(error)
    assert str(error).startswith(f"{path}:{line}: ") and words in str(error)
    assert config.get("ok").name == "ok"  # the other files load
    with pytest.raises(ConfigError) as info:
        config.get("tz")
    assert str(info.value) == (
        f"object 'tz': defined in more_motors.yml, which failed to load: {error}"
    )


def test_undecodable_bytes_name_the_line(tmp_path):
    path = make_tree(tmp_path, b"- name: tz\n  class: simulation_diode\n  unit: \xff\xfe\n")
    config = Config(tmp_path)
    (error,) = config.file_errors
    assert str(error) == (f"{path}:3: cannot read file: not UTF-8 text (byte 0xff at column 9)")
    with pytest.raises(ConfigError, match="object 'tz': defined in more_motors.yml, which failed"):
        config.get("tz")


@pytest.mark.parametrize(
    "definition",
    ["- name: tz\n", "- {name: tz, class: x}\n", "- name: 'tz'  # quoted\n", '  name: "tz"\n'],
)
def test_every_way_of_writing_a_name_is_found_in_a_failed_file(tmp_path, definition):
    make_tree(tmp_path, definition + "  bad: [\n")
    config = Config(tmp_path)
    assert config.failed_file_defining("tz") is config.file_errors[0]


def test_names_that_merely_contain_the_name_are_not_blamed_on_the_file(tmp_path):
    make_tree(tmp_path, "- name: tz2\n- name: xtz\n- hostname: tz\n  bad: [\n")
    config = Config(tmp_path)
    assert config.failed_file_defining("tz") is None
    with pytest.raises(BeamshellError, match="no object named 'tz'"):
        config.get("tz")


def test_file_in_a_subfolder_is_named_relative_to_the_configuration(tmp_path):
    sub = tmp_path / "optics"
    sub.mkdir()
    (sub / "mirrors.yml").write_text(textwrap.dedent("- name: mir\n  class: [\n"))
    config = Config(tmp_path)
    with pytest.raises(ConfigError, match=r"defined in optics/mirrors\.yml, which failed to load"):
        config.get("mir")
