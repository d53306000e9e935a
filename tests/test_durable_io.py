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
