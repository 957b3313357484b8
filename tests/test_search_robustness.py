"""archdsl search's arguments and --out, attacked (issue 16): each case exits 1 with one
clean error (no traceback), or does the right thing; nothing the user has is lost.

Outside figures: SQLAlchemy's URL forms for in-memory SQLite (`sqlite://`, `sqlite:///`,
`sqlite:///:memory:`), Optuna's seed range (numpy's RandomState takes [0, 2**32)), SQLite's
companion files (`-wal`, `-shm`, `-journal`, which it replays or deletes on open).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "search" / "vgg.arch")

SPACE = """
use "{vgg}"
space tiny(budget=100M) {{
  param w in [4, 8]
  param d in [1, 2]
  require flops <= budget
  network vgg_net([w, 2 * w], [d, 1], 2, size=8)
}}
"""


@pytest.fixture
def space(tmp_path):
    p = tmp_path / "tiny.arch"
    p.write_text(SPACE.format(vgg=VGG))
    return str(p)


def search(cwd, *args):
    proc = subprocess.run([sys.executable, "-m", "archdsl", "search", *map(str, args),
                           "--quiet"], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return proc.returncode, proc.stdout, proc.stderr


def error(code, err) -> str:
    assert code == 1, err
    assert "Traceback" not in err, err
    return err


@pytest.mark.parametrize("args,message", [
    (["--seed", "-1"], "from 0 to 4294967295"),
    (["--seed", "4294967296"], "from 0 to 4294967295"),
    (["--seed", "99999999999999999999999"], "from 0 to 4294967295"),
    (["--storage", "sqlite://"], "in-memory SQLite database"),
    (["--storage", "sqlite:///"], "in-memory SQLite database"),
    (["--storage", "sqlite:///:memory:"], "in-memory SQLite database"),
    (["--timeout", "nan"], "positive number of seconds"),
    (["--timeout", "inf"], "positive number of seconds"),
    (["--timeout", "-3"], "positive number of seconds"),
    (["--sampler", "anneal"], "unknown --sampler 'anneal'"),
    (["--device", "cpu:1"], "--device must be cpu or cuda"),
    (["--lr", "nan"], "--lr must be a positive number"),
])
def test_bad_arguments_are_clean_errors(tmp_path, space, args, message):
    code, out, err = search(tmp_path, space, "--trials", "1", *args)
    assert message in error(code, err)
    assert not (tmp_path / "runs").exists()  # refused before anything was written


@pytest.mark.parametrize("study", ["../../esc", "/abs/path/x", "..", "a" * 300])
def test_a_study_name_cannot_write_outside_runs(tmp_path, space, study):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    code, out, err = search(work, space, "--trials", "1", "--study", study)
    assert "cannot name a directory under runs/" in error(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "tiny.arch"]
    assert list(work.iterdir()) == []
    # with --out the name is only the study's name in the storage
    code, out, err = search(work, space, "--trials", "1", "--study", study, "--out", "o")
    assert code == 0, err


def test_an_emptied_study_db_is_not_silently_restarted(tmp_path, space):
    out = tmp_path / "out"
    assert search(tmp_path, space, "--trials", "6", "--out", out)[0] == 0
    csv_before = (out / "trials.csv").read_text()
    assert len(csv_before.splitlines()) == 7
    (out / "study.db").write_bytes(b"")  # 0 bytes, the marker still valid
    for name in ("study.db-wal", "study.db-shm"):
        (out / name).unlink(missing_ok=True)
    code, _, err = search(tmp_path, space, "--trials", "2", "--out", out)
    assert "the last search wrote 6 trials" in error(code, err) and "--force" in err
    assert (out / "trials.csv").read_text() == csv_before  # nothing overwritten
    (out / "study.db").unlink()
    code, _, err = search(tmp_path, space, "--trials", "2", "--out", out)
    assert "the last search wrote 6 trials" in error(code, err)
    code, _, err = search(tmp_path, space, "--trials", "2", "--out", out, "--force")
    assert code == 0, err
    assert len((out / "trials.csv").read_text().splitlines()) == 3


@pytest.mark.parametrize("name", ["study.db-wal", "study.db-journal", "study.db-shm"])
def test_user_files_named_like_sqlites_are_not_deleted(tmp_path, space, name):
    out = tmp_path / "fresh"
    out.mkdir()
    (out / name).write_text("mine")
    code, _, err = search(tmp_path, space, "--trials", "1", "--out", out)
    assert name in error(code, err)
    assert (out / name).read_text() == "mine"


def test_a_copied_out_directory_resumes(tmp_path, space):
    first = tmp_path / "here" / "out"
    assert search(tmp_path, space, "--trials", "3", "--out", first)[0] == 0
    moved = tmp_path / "elsewhere" / "out"
    shutil.copytree(first, moved)
    shutil.rmtree(tmp_path / "here")
    code, stdout, err = search(tmp_path, space, "--trials", "2", "--out", moved)
    assert code == 0, err
    assert "5 trials" in stdout
    assert f"sqlite:///{moved.resolve()}/study.db" in stdout  # its own copy, not the old path


def test_a_copied_out_directory_resumes_with_its_own_storage_inside(tmp_path, space):
    """Issue 16, item 20: a --storage naming a SQLite file inside --out is remembered
    relative to --out too; the same file named by another URL is the same storage."""
    first = tmp_path / "here" / "out"
    first.mkdir(parents=True)
    url = f"sqlite:///{first.resolve()}/mine.db"
    assert search(tmp_path, space, "--trials", "3", "--out", first, "--storage", url)[0] == 0
    moved = tmp_path / "elsewhere" / "out"
    shutil.copytree(first, moved)
    shutil.rmtree(tmp_path / "here")
    code, stdout, err = search(moved, space, "--trials", "2", "--out", ".",
                               "--storage", "sqlite:///mine.db")
    assert code == 0, err
    assert "5 trials" in stdout
    # without --storage, --out's own study.db is another storage: refused, nothing lost
    code, _, err = search(tmp_path, space, "--trials", "1", "--out", moved)
    assert "holds the results of another search" in error(code, err)
    assert len((moved / "trials.csv").read_text().splitlines()) == 6
