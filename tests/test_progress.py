"""Progress bars of the long commands (compile, render, zoo): on standard error when it is a
terminal (here a pseudo-terminal, as `script` gives one), nothing when it is a pipe; the
result on standard output is the same either way, and rich is not imported for a pipe."""
from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot not installed")


def _env(**extra):
    # A bar at once (the runs below are long, but a fast machine should not skip the bar).
    env = dict(os.environ, ARCHDSL_PROGRESS_DELAY="0", TERM="xterm", COLUMNS="120")
    env.update(extra)
    return env


def run_on_terminal(argv, tmp_path, **env):
    """Run `archdsl ARGV` with standard error on a pseudo-terminal, standard output in a file:
    (exit code, stdout text, what the terminal received)."""
    master, slave = pty.openpty()
    with open(tmp_path / "stdout", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "archdsl", *map(str, argv)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=slave,
                                cwd=ROOT, env=_env(**env))
    os.close(slave)
    received = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        received += data
    os.close(master)
    code = proc.wait(timeout=300)
    return code, (tmp_path / "stdout").read_text(), received.decode("utf-8", "replace")


def run_piped(argv):
    proc = subprocess.run([sys.executable, "-m", "archdsl", *map(str, argv)],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_zoo_shows_a_bar_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    code, out, terminal = run_on_terminal(["zoo", "--json"], tmp_path)
    assert code == 0
    listed = json.loads(out)
    assert "zoo: elaborating the networks" in terminal
    files = len(list((ROOT / "archdsl" / "zoo").glob("*.arch")))
    assert f"{files}/{files}" in terminal  # the count of the zoo's files, filled
    code, out, err = run_piped(["zoo", "--json"])
    assert code == 0 and err == ""
    assert json.loads(out) == listed


@needs_dot
def test_render_shows_a_bar_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    argv = ["render", "zoo:densenet121", "--depth", "full", "--force"]
    code, out, terminal = run_on_terminal([*argv, "-o", tmp_path / "a.svg"], tmp_path)
    assert code == 0, terminal
    assert "render zoo:densenet121: laying out with graphviz's dot" in terminal
    assert out.startswith(f"wrote {tmp_path / 'a.svg'}: densenet121")
    code, out, err = run_piped([*argv, "-o", tmp_path / "b.svg"])
    assert code == 0 and err == ""
    assert out.startswith(f"wrote {tmp_path / 'b.svg'}: densenet121")


def test_compile_shows_its_stages_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    pytest.importorskip("torch")
    code, out, terminal = run_on_terminal(["compile", "zoo:resnet18"], tmp_path)
    assert code == 0, terminal
    assert "compile zoo:resnet18: building modules" in terminal
    assert "compile zoo:resnet18: forward pass" in terminal
    assert out.startswith("resnet18: 11,689,512 params")  # the line, after the bar
    code, out, err = run_piped(["compile", "zoo:resnet18"])
    assert code == 0 and err == ""
    assert out.startswith("resnet18: 11,689,512 params")


def test_an_error_clears_the_bar_and_shows_the_message(tmp_path):
    bad = tmp_path / "bad.arch"
    bad.write_text("network bad {\n  input [3, 32, 32]\n  conv(8, k=3)\n  nope(1)\n}\n")
    code, _, terminal = run_on_terminal(["render", bad, "-o", tmp_path / "bad.svg"], tmp_path)
    assert code == 1
    assert "4:3: error:" in terminal


def test_never_and_a_pipe_import_no_rich(tmp_path):
    code = ("import sys; from archdsl.cli import main; rc = main(%r); "
            "print('RICH' if 'rich' in sys.modules else 'NO-RICH'); sys.exit(rc)"
            % ["render", "zoo:resnet18", "-o", str(tmp_path / "r.dot")])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO-RICH")
    rc, out, terminal = run_on_terminal(["zoo", "--json"], tmp_path,
                                        ARCHDSL_PROGRESS_DELAY="never")
    assert rc == 0 and "elaborating" not in terminal
