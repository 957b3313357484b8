"""archdsl/files.py: writes are atomic, refuse to overwrite without force, and leave files
with the mode an ordinary open() would give (the umask's), not the temporary file's 0600."""
from __future__ import annotations

import os

import pytest

from archdsl.errors import ArchError
from archdsl.files import atomic_write


def test_written_file_has_the_umask_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "a.txt", "hello")
        plain = tmp_path / "b.txt"
        plain.write_text("hello")
    finally:
        os.umask(umask)
    assert path.read_text() == "hello"
    assert (path.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777) == 0o644


def test_refuses_to_overwrite_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("mine")
    with pytest.raises(ArchError, match="--force"):
        atomic_write(path, "new")

    def broken(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("interrupted")
    with pytest.raises(RuntimeError):
        atomic_write(path, broken, force=True)
    assert path.read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
