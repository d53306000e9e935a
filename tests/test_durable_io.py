import errno
import os
import stat

import pytest

from gendistiller import io


def test_write_text_honours_umask(tmp_path):
    old = os.umask(0o022)
    try:
        io.write_text(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with io.atomic_open(target, "wb") as fh:
            fh.write(b"new, half")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_disk_full_is_one_line_error_naming_the_file(tmp_path):
    target = tmp_path / "ckpt.ckpt"
    target.write_bytes(b"previous")
    with pytest.raises(io.DiskFullError, match="ckpt.ckpt: the disk is full"):
        with io.atomic_path(target) as tmp:
            tmp.write_bytes(b"part")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.ckpt"]


def test_write_json_round_trip(tmp_path):
    io.write_json(tmp_path / "x" / "r.json", {"a": [1, 2]})
    assert (tmp_path / "x" / "r.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}\n'


def test_atomic_dir_replaces_a_folder_only_once_complete(tmp_path):
    target = tmp_path / "student"
    target.mkdir()
    (target / "old.bin").write_bytes(b"old")
    with pytest.raises(io.DiskFullError, match="student: the disk is full"):
        with io.atomic_dir(target) as tmp:
            (tmp / "new.bin").write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert [p.name for p in target.iterdir()] == ["old.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["student"]
    with io.atomic_dir(target) as tmp:
        (tmp / "new.bin").write_bytes(b"new")
    assert [p.name for p in target.iterdir()] == ["new.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["student"]


def test_atomic_dir_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with io.atomic_dir(tmp_path / "student") as tmp:
            (tmp / "model.safetensors").write_bytes(b"w")
            os.chmod(tmp / "model.safetensors", 0o600)  # as safetensors' own writer leaves it
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "student" / "model.safetensors").stat().st_mode) == 0o644


def test_atomic_dir_without_replace_refuses_a_full_folder(tmp_path):
    target = tmp_path / "corpus"
    target.mkdir()
    (target / "theirs.txt").write_text("keep")
    with pytest.raises(OSError):
        with io.atomic_dir(target, replace=False) as tmp:
            (tmp / "mine.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]


def test_stale_temps_of_dead_writers_are_swept_live_ones_kept(tmp_path):
    dead = tmp_path / f"{io.TMP_PREFIX}a.ckpt.pid{2**22 + 12345}.xyz"  # above pid_max
    dead.write_bytes(b"")
    live = tmp_path / f"{io.TMP_PREFIX}a.ckpt.pid1.xyz"  # init never dies
    live.write_bytes(b"")
    folder = tmp_path / f"{io.TMP_PREFIX}corpus.pid{2**22 + 1}.abcd"
    folder.mkdir()
    (tmp_path / "a.ckpt").write_bytes(b"")
    removed = io.remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted([dead.name, folder.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.ckpt", live.name])


def test_cache_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(io.CACHE_ENV, str(tmp_path))
    assert io.cache_home("scans") == tmp_path / "scans"
