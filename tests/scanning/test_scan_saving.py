"""SCAN_SAVING: the data policy (where each scan's file goes), persisted per session."""

import pytest

from beamshell.config.settings import SettingsStore
from beamshell.scanning.saving import ScanSaving

DATASET = "demo/inhouse/sample/sample_0001/sample_0001.h5"


def test_defaults_are_under_the_users_data_directory(user_directories):
    saving = ScanSaving("demo", user="seb")
    base = user_directories / "data" / "beamshell" / "scans"
    assert saving.base_path == str(base)
    assert saving.filename == f"{base}/{DATASET}"
    assert saving.root_path == f"{base}/demo/inhouse/sample/sample_0001"
    assert saving.writer == "hdf5" and saving.saving
    assert saving.scan_node_name(12, "loopscan") == (
        "demo:" + ":".join(base.parts[1:]) + ":12_loopscan"
    )


def test_settings_persist_per_session(redis_client):
    saving = ScanSaving("demo", SettingsStore(redis_client), user="seb")
    saving.base_path = "/data/visitor"
    saving.template = "{proposal}/{date}/{user}"
    saving.data_filename = "{session}_{sample}"
    saving.proposal = "mx123"
    again = ScanSaving("demo", SettingsStore(redis_client), user="seb")
    date = again.get()["date"]
    assert len(date) == 8 and date.isdigit()
    assert again.filename == f"/data/visitor/mx123/{date}/seb/demo_sample.h5"
    assert again.scan_node_name(3, "ascan") == "demo:data:visitor:3_ascan"
    other = ScanSaving("other", SettingsStore(redis_client), user="seb")
    assert other.proposal == "inhouse"  # per session


def test_session_defaults_apply_until_the_operator_sets_a_value(redis_client):
    store = SettingsStore(redis_client)
    saving = ScanSaving("demo", store, {"base_path": "/beamline/data", "sample": "silicon"})
    assert saving.filename.startswith("/beamline/data/demo/inhouse/silicon/silicon_0001/")
    saving.base_path = "/elsewhere"
    assert ScanSaving("demo", store, {"base_path": "/beamline/data"}).base_path == "/elsewhere"


def test_newsample_and_newdataset_number_the_datasets(tmp_path, capsys):
    saving = ScanSaving("demo", defaults={"base_path": str(tmp_path)}, user="seb")
    saving.newdataset()
    assert saving.dataset == "0002"  # a new one, even when 0001 holds nothing yet
    first = tmp_path / "demo/inhouse/sample/sample_0002"
    first.mkdir(parents=True)
    saving.newdataset()
    assert saving.dataset == "0003"
    saving.newdataset("alignment")
    assert saving.dataset == "alignment"
    (tmp_path / "demo/inhouse/sample/sample_alignment").mkdir()
    saving.newdataset("alignment")  # exists: numbered
    assert saving.dataset == "alignment_0002"
    saving.newsample("quartz")
    assert (saving.sample, saving.dataset) == ("quartz", "0001")
    (tmp_path / "demo/inhouse/quartz/quartz_0001").mkdir(parents=True)
    saving.newsample("quartz")  # its datasets exist: the next free one
    assert saving.dataset == "0002"
    saving.newproposal("mx999")
    assert (saving.proposal, saving.sample, saving.dataset) == ("mx999", "sample", "0001")
    assert saving.filename == f"{tmp_path}/demo/mx999/sample/sample_0001/sample_0001.h5"
    assert "Next scans of session 'demo' go to " + saving.filename in capsys.readouterr().out


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.newsample("a/b"), "bad sample name 'a/b'"),
        (lambda s: s.newsample(".."), "bad sample name '..'"),
        (lambda s: s.newsample(""), "sample name must be a non-empty string"),
        (lambda s: s.newdataset("x\ny"), "bad dataset name"),
        (lambda s: s.newproposal(3), "proposal name must be a non-empty string"),
        (lambda s: setattr(s, "base_path", "relative/path"), "absolute path"),
        (lambda s: setattr(s, "base_path", "/a/../b"), "no '..'"),
        (lambda s: setattr(s, "template", "{nope}"), "may only use"),
        (lambda s: setattr(s, "template", "/abs/{session}"), "relative path"),
        (lambda s: setattr(s, "data_filename", "a/{sample}"), "must not contain '/'"),
        (lambda s: setattr(s, "data_filename", 3), "non-empty string"),
        (lambda s: setattr(s, "writer", "csv"), "must be one of hdf5, null"),
        (lambda s: setattr(s, "colour", "red"), "no setting 'colour'"),
    ],
)
def test_bad_values_are_one_line_errors_and_change_nothing(call, message):
    saving = ScanSaving("demo", user="seb")
    before = saving.get()
    with pytest.raises((ValueError, AttributeError), match=message) as info:
        call(saving)
    assert "\n" not in str(info.value)
    assert saving.get() == before


def test_writer_null_means_not_saved():
    saving = ScanSaving("demo")
    saving.writer = None
    assert saving.writer == "null" and not saving.saving


def test_repr_is_a_short_table():
    text = repr(ScanSaving("demo", user="seb", writer_status=lambda: "running, pid 7"))
    lines = text.splitlines()
    assert lines[0] == "SCAN_SAVING of session 'demo'"
    assert lines[1].split() == ["filename", ScanSaving("demo", user="seb").filename]
    assert "writer         hdf5 (running, pid 7)" in text
