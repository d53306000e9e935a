"""`export` and its destination folder: refusals, --overwrite, replacing, a full disk."""

import errno
import json
import os
import stat

import pytest
import transformers.modeling_utils

from gendistiller.cli import main
from gendistiller.export.cli import export_student
from gendistiller.io import DiskFullError
from gendistiller.students import build_student


@pytest.fixture
def student_dir(tmp_path):
    build_student("distilhubert-tiny").save_pretrained(tmp_path / "student")
    return tmp_path / "student"


def test_a_folder_of_other_files_is_refused_unless_overwrite(student_dir, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    for name in ("README.md", "config.json", "notes.txt"):
        (out / name).write_text(f"the user's {name}")
    assert main(["export", str(student_dir), str(out), "--no-verify"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out) in err and "--overwrite" in err
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        n: f"the user's {n}" for n in ("README.md", "config.json", "notes.txt")
    }

    assert main(["export", str(student_dir), str(out), "--no-verify", "--overwrite"]) == 0
    report = json.loads((out / "export.json").read_text())
    assert "notes.txt" not in report["files"] and "README.md" in report["files"]
    assert (out / "notes.txt").read_text() == "the user's notes.txt"  # left alone
    assert (out / "README.md").read_text() != "the user's README.md"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "student"]  # no temp left

    # still someone else's folder (notes.txt): refused again without --overwrite
    assert main(["export", str(student_dir), str(out), "--no-verify"]) == 2


def test_a_previous_export_is_replaced_as_a_whole(student_dir, tmp_path):
    out = tmp_path / "out"
    student = build_student("distilhubert-tiny")
    export_student(student, out, verify=False)
    (out / "model.onnx").write_bytes(b"")  # as if listed by an earlier export
    report = json.loads((out / "export.json").read_text())
    report["files"]["model.onnx"] = 0
    (out / "export.json").write_text(json.dumps(report))
    again = export_student(student, out, verify=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([*again["files"], "export.json"])
    assert "model.onnx" not in again["files"]


def test_exported_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        export_student(build_student("gendistiller-tiny"), tmp_path / "out", verify=False)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {0o644}, modes


def test_a_full_disk_leaves_the_previous_export_as_it_was(tmp_path, monkeypatch):
    out = tmp_path / "out"
    student = build_student("distilhubert-tiny")
    export_student(student, out, verify=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def filling(tensors, filename, *args, **kwargs):
        with open(filename, "wb") as fh:
            fh.write(b"part of the weights")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", filling)
    with pytest.raises(DiskFullError, match=f"{out}: the disk is full"):
        export_student(student, out, verify=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # the partial export is gone
