"""archdsl/files.py: writes are atomic, refuse to overwrite without force, and leave files
with the mode an ordinary open() would give (the umask's), not the temporary file's 0600;
every writer of the package goes through it, and the commands never overwrite a file without
--force nor leave half a file when interrupted."""
from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archdsl import files
from archdsl.errors import ArchError
from archdsl.files import atomic_write
from helpers import PACKAGE, ROOT, TINY, one_error, write


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


def _listing(d: Path) -> list:
    return sorted(p.name for p in d.iterdir())


def test_atomic_write_interrupted_inside_the_writer_leaves_no_file(tmp_path):
    target = tmp_path / "out.bin"

    def writer(tmp):
        Path(tmp).write_bytes(b"half of it")
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError):
        files.atomic_write(target, writer)
    assert _listing(tmp_path) == []  # neither the file nor the temporary one


def test_atomic_write_interrupted_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def writer(tmp):
        Path(tmp).write_text("new, but only half")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, writer, force=True)
    assert target.read_text() == "old" and _listing(tmp_path) == ["out.txt"]
    files.atomic_write(target, "new", force=True)
    assert target.read_text() == "new" and _listing(tmp_path) == ["out.txt"]


def test_atomic_write_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(ArchError, match="exists; pass --force"):
        files.atomic_write(target, "new")
    assert target.read_text() == "old"
    with pytest.raises(ArchError, match="does not exist"):
        files.atomic_write(tmp_path / "no" / "such" / "dir.txt", "x")


def test_atomic_write_killed_mid_write_leaves_no_target(tmp_path):
    """SIGKILL while the writer runs: the target never appears (only a hidden temporary file
    stays behind, which nothing reads)."""
    target = tmp_path / "out.txt"
    started = tmp_path / "started"
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from archdsl.files import atomic_write
        def writer(tmp):
            Path(tmp).write_text("partial")
            Path({str(started)!r}).write_text("")
            time.sleep(60)
        atomic_write({str(target)!r}, writer)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.time() + 60
        while not started.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert started.exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not target.exists()
    assert all(n.startswith(".out.txt.") or n == "started" for n in _listing(tmp_path))


def test_every_writer_in_the_package_goes_through_atomic_write():
    """A static check: each call that writes a file (write_text, write_bytes, open(..., 'w'),
    savefig, torch.save, .save, nx.write_*) sits inside an atomic_write(...) call, or in a
    function that is handed to atomic_write as the writer."""
    writes, handed = [], set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "files.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        parents = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "atomic_write":
                for arg in ast.walk(node):
                    if isinstance(arg, ast.Name):
                        handed.add(arg.id)
                    elif isinstance(arg, ast.Attribute):
                        handed.add(arg.attr)
                continue
            writing = name in ("write_text", "write_bytes", "savefig", "save", "to_csv") \
                or name.startswith("write_graph") or (name == "open" and any(
                    isinstance(a, ast.Constant) and isinstance(a.value, str)
                    and set(a.value) & set("wax") for a in node.args[1:] + [
                        k.value for k in node.keywords if k.arg == "mode"]))
            if not writing:
                continue
            up, inside, func = node, False, None
            while up in parents:
                up = parents[up]
                if isinstance(up, ast.Call) and getattr(up.func, "id", "") == "atomic_write":
                    inside = True
                if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)) and func is None:
                    func = up
            # writing into an io.BytesIO/StringIO made in the same function is not a file
            memory = {t.id for a in ast.walk(func) if isinstance(a, ast.Assign)
                      and isinstance(a.value, ast.Call)
                      and getattr(a.value.func, "attr", getattr(a.value.func, "id", ""))
                      in ("BytesIO", "StringIO")
                      for t in a.targets if isinstance(t, ast.Name)} if func else set()
            if any(isinstance(a, ast.Name) and a.id in memory for a in node.args):
                continue
            func = func.name if func else None
            if not inside:
                writes.append((path.relative_to(ROOT).as_posix(), node.lineno, name, func))
    unsafe = [w for w in writes if w[3] not in handed]
    assert not unsafe, f"writes outside atomic_write: {unsafe}"


@pytest.fixture
def tiny(tmp_path):
    return write(tmp_path, "tiny.arch", TINY)


@pytest.mark.parametrize("command, suffix", [("compile", ".py"), ("render", ".dot")])
def test_output_is_never_overwritten_without_force(run_cli, tmp_path, tiny, command, suffix):
    if command == "compile":
        pytest.importorskip("torch")
    out = tmp_path / f"out{suffix}"
    out.write_text("precious")
    code, stdout, err = run_cli(command, tiny, "-o", out)
    msg = one_error(code, err)
    assert "exists; pass --force to overwrite it" in msg
    assert out.read_text() == "precious"
    code, stdout, err = run_cli(command, tiny, "-o", out, "--force")
    assert (code, err) == (0, ""), err
    assert out.read_text() != "precious" and "tiny" in out.read_text()
    assert _listing(tmp_path) == ["out" + suffix, "tiny.arch"]


@pytest.mark.parametrize("command, suffix", [("compile", ".py"), ("compile", ".pt"),
                                             ("render", ".dot"), ("render", ".json")])
def test_an_interrupted_write_leaves_no_file(run_cli, tmp_path, tiny, monkeypatch, command,
                                             suffix):
    """Ctrl-C at the last moment (the rename): exit 130, no output, no temporary file."""
    if command == "compile":
        pytest.importorskip("torch")

    def interrupted(src, dst):
        raise KeyboardInterrupt
    monkeypatch.setattr(files.os, "replace", interrupted)
    out = tmp_path / f"out{suffix}"
    code, stdout, err = run_cli(command, tiny, "-o", out)
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert _listing(tmp_path) == ["tiny.arch"]
