"""Robustness, round two (issue 16), item 14: killing a command. `render`'s graphviz child dies
with it (also on SIGKILL, through PR_SET_PDEATHSIG on Linux); SIGTERM, SIGHUP and SIGINT
remove the temporary file of an interrupted write (`compile -o v.pt` left a hidden 385 MB one
each time); what SIGKILL leaves is removed by the next write into that directory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archdsl import files

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = 60
# A diagram graphviz lays out for many seconds (the command warns that it may take minutes).
SLOW_RENDER = ["render", "zoo:densenet264", "--depth", "full"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; PR_SET_PDEATHSIG is Linux's")


def start(*args, cwd) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "archdsl", *map(str, args)], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def wait_for(condition, what: str, timeout=CONTRACT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def children(pid: int) -> list:
    """PIDs whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that never reaps it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def temporaries(d: Path) -> list:
    return sorted(p.name for p in d.iterdir() if files.TEMP_NAME.match(p.name))


def dot_child(proc) -> int:
    def find():
        return next((c for c in children(proc.pid)
                     if Path(f"/proc/{c}/comm").read_text().strip() == "dot"), None)
    return wait_for(find, "render to start dot")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=lambda s: s.name)
def test_a_signalled_render_takes_dot_and_its_temporary_file_along(tmp_path, sig):
    proc = start(*SLOW_RENDER, "-o", "big.svg", cwd=tmp_path)
    try:
        dot = dot_child(proc)
        assert temporaries(tmp_path)  # dot writes into the temporary file
        proc.send_signal(sig)
        proc.wait(CONTRACT)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert err.strip().splitlines()[-1] == ("archdsl: interrupted" if sig == signal.SIGINT
                                            else "archdsl: terminated"), err
    assert "Traceback" not in err
    wait_for(lambda: not alive(dot), "dot to end", timeout=10)
    assert os.listdir(tmp_path) == []  # neither big.svg nor a temporary file


def test_a_killed_render_takes_dot_along_and_the_next_write_cleans_up(tmp_path):
    proc = start(*SLOW_RENDER, "-o", "big.svg", cwd=tmp_path)
    try:
        dot = dot_child(proc)
        proc.kill()  # SIGKILL: nothing in archdsl runs
        proc.wait(CONTRACT)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not alive(dot), "dot to die with its parent", timeout=10)
    left = temporaries(tmp_path)
    assert len(left) == 1 and left[0].startswith(".big.svg.archdsl-")
    assert not (tmp_path / "big.svg").exists()
    # The next write into the directory removes it, once it is old enough not to be a
    # temporary file being created at this moment.
    old = time.time() - 2 * files.STALE_AFTER
    os.utime(tmp_path / left[0], (old, old))
    tiny = tmp_path / "tiny.arch"
    tiny.write_text("network tiny {\n  input [3, 8, 8]\n  relu\n}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "archdsl", "render", "tiny.arch", "-o", "t.dot"],
                   cwd=tmp_path, env=env, check=True, capture_output=True, timeout=CONTRACT)
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_compile_to_pt_interrupted_while_writing(tmp_path, sig):
    """`compile -o v.pt` of VGG-16 (528 MB of weights): signalled while the state_dict is
    being written. SIGTERM removes the temporary file at once; after SIGKILL the next write
    removes it."""
    pytest.importorskip("torch")
    proc = start("compile", "zoo:vgg16", "-o", "v.pt", cwd=tmp_path)
    try:
        wait_for(lambda: temporaries(tmp_path), "the write to start", timeout=CONTRACT * 2)
        proc.send_signal(sig)
        proc.wait(CONTRACT)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (tmp_path / "v.pt").exists()
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + sig and "Traceback" not in err, err
        assert os.listdir(tmp_path) == []
        return
    left = temporaries(tmp_path)
    assert len(left) == 1
    old = time.time() - 2 * files.STALE_AFTER
    os.utime(tmp_path / left[0], (old, old))
    files.atomic_write(tmp_path / "next.txt", "x")  # any write into the directory
    assert temporaries(tmp_path) == []
