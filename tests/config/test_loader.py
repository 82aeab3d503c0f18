"""The YAML configuration tree: names, references, defaults, reload, and every bad input."""

import os
import textwrap

import pytest

from beamshell.config.static import Config, get_config, resolve_config_dir
from beamshell.errors import BeamshellError, ConfigError


def write(directory, relative, text):
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def tree(tmp_path):
    write(tmp_path, "__init__.yml", "packages: [site_devices]\n")
    write(
        tmp_path,
        "things.yml",
        """\
        - name: a
          class: site_devices.Thing
          value: 1
          partner: $b
        - name: b
          class: site_devices.Thing
          value: 2
          items: [$c, plain]
        """,
    )
    write(tmp_path, "sub/__init__.yml", "colour: blue\n")
    write(
        tmp_path,
        "sub/c.yml",
        """\
        name: c
        class: site_devices.Thing
        """,
    )
    write(
        tmp_path,
        "sub/rack.yml",
        """\
        rack:
          class: site_devices.Rack
          slots:
            - {name: s1, size: 3}
            - {name: s2, size: 4}
        """,
    )
    return tmp_path


def test_names_references_and_identity(tree):
    config = Config(tree)
    assert config.names_list == ["a", "b", "c", "s1", "s2"]
    a = config.get("a")
    assert a.value == 1 and a.partner is config.get("b")
    assert config.get("b").items == [config.get("c"), "plain"]
    assert config.get("a") is a


def test_init_yml_gives_defaults_to_files_below(tree):
    config = Config(tree)
    assert config.get("c").colour == "blue"
    assert config.get("a").colour is None
    assert config.get("s1") == {"name": "s1", "size": 3, "rack_colour": "blue"}


def test_controller_built_once_for_its_items(tree):
    config = Config(tree)
    s1 = config.get("s1")
    s2 = config.get("s2")
    assert config._builders and len(config._builders) == 1
    assert s1["size"] == 3 and s2["size"] == 4


def test_reload_reads_files_again(tree):
    config = Config(tree)
    first = config.get("a")
    write(tree, "more.yml", "- {name: d, class: site_devices.Thing, value: 9}\n")
    config.reload()
    assert "d" in config.names_list
    assert config.get("d").value == 9
    assert config.get("a") is not first


def test_get_config_returns_one_config_per_directory(tree):
    assert get_config(tree) is get_config(str(tree))


def test_default_directory_env_then_demo(tree, monkeypatch):
    monkeypatch.setenv("BEAMSHELL_CONFIG", str(tree))
    assert resolve_config_dir() == tree.resolve()
    monkeypatch.delenv("BEAMSHELL_CONFIG")
    assert resolve_config_dir().name == "demo_config"
    assert resolve_config_dir(tree) == tree.resolve()


def test_missing_directory_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="configuration directory not found"):
        Config(tmp_path / "nope")


def test_yaml_syntax_error_names_file_and_line_and_others_load(tree):
    write(tree, "broken.yml", "- name: x\n  class: [unclosed\n- name: y\n")
    config = Config(tree)
    assert config.get("a").value == 1
    (error,) = config.file_errors
    assert "broken.yml:" in str(error) and "YAML syntax error" in str(error)
    assert error.line is not None and error.line >= 2


def test_duplicate_name_in_two_files(tree):
    write(tree, "dup.yml", "- {name: a, class: site_devices.Thing}\n")
    config = Config(tree)
    with pytest.raises(ConfigError) as info:
        config.get("a")
    message = str(info.value)
    assert "duplicate name" in message
    assert "things.yml:1" in message and "dup.yml:1" in message
    assert config.get("b").value == 2


def test_unknown_class_names_file_line_and_object(tree):
    write(tree, "odd.yml", "\n- name: weird\n  class: no_such_device\n")
    config = Config(tree)
    with pytest.raises(ConfigError) as info:
        config.get("weird")
    assert str(info.value).startswith(f"{tree / 'odd.yml'}:3: object 'weird': unknown class")
    assert config.get("c").name == "c"


def test_dotted_class_outside_allowed_packages_is_refused(tree):
    write(tree, "evil.yml", "- {name: evil, class: os.system}\n")
    config = Config(tree)
    with pytest.raises(ConfigError, match="outside the allowed packages"):
        config.get("evil")


def test_reference_to_missing_object(tree):
    write(tree, "ref.yml", "- name: lonely\n  class: site_devices.Thing\n  partner: $ghost\n")
    config = Config(tree)
    with pytest.raises(ConfigError) as info:
        config.get("lonely")
    assert "ref.yml:3" in str(info.value) and "'$ghost'" in str(info.value)


def test_unknown_key_for_known_class(tree):
    write(tree, "key.yml", "- name: k\n  class: site_devices.Thing\n  valeu: 3\n")
    config = Config(tree)
    with pytest.raises(ConfigError) as info:
        config.get("k")
    assert "key.yml:3" in str(info.value) and "unknown key 'valeu'" in str(info.value)


def test_unreadable_file(tree):
    path = write(tree, "secret.yml", "- {name: z, class: site_devices.Thing}\n")
    path.write_bytes(b"\xff\xfe\x00 not utf-8 \xc3\x28")
    config = Config(tree)
    (error,) = config.file_errors
    assert "secret.yml" in str(error) and "cannot read file" in str(error)
    assert config.get("a").value == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_file_without_permission(tree):
    path = write(tree, "locked.yml", "- {name: z, class: site_devices.Thing}\n")
    path.chmod(0)
    config = Config(tree)
    assert "locked.yml" in str(config.file_errors[0])


def test_duplicate_key_in_one_mapping(tree):
    write(tree, "twice.yml", "- name: t\n  class: site_devices.Thing\n  value: 1\n  value: 2\n")
    config = Config(tree)
    assert "twice.yml:4" in str(config.file_errors[0])


def test_unknown_name_is_one_line(tree):
    with pytest.raises(BeamshellError, match="no object named 'nothing'"):
        Config(tree).get("nothing")


def test_yaml_cannot_create_python_objects(tree):
    write(
        tree,
        "tag.yml",
        "- name: t\n  class: site_devices.Thing\n  value: !!python/object/apply:os.getcwd []\n",
    )
    config = Config(tree)
    assert "tag.yml" in str(config.file_errors[0])


def test_demo_configuration_has_no_file_errors():
    config = Config()
    assert config.file_errors == []
    assert "demo" in config.names_list
