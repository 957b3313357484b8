"""Search spaces ship with the package: `search:NAME` names search/NAME.arch wherever a file
is expected, `archdsl zoo` lists them, and a wheel built from the checkout runs a search from
an empty directory.

Outside figures: pip's own wheel (`pip wheel --no-deps .`), installed into a new virtual
environment that sees only the wheel for archdsl (its dependencies come from this
environment's site-packages through a .pth file, as a system site would give them).
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from archdsl.errors import ArchError
from archdsl.loader import resolve_file_argument

ROOT = Path(__file__).resolve().parent.parent


def test_search_prefix_names_the_shipped_files_only():
    assert Path(resolve_file_argument("search:resnext")).read_text() == \
        (ROOT / "search" / "resnext.arch").read_text()
    for bad in ("search:nope", "search:../zoo/resnet50", "search:/etc/passwd", "search:"):
        with pytest.raises(ArchError, match="no search space file"):
            resolve_file_argument(bad)


def test_zoo_lists_the_search_spaces(run_cli):
    code, out, _ = run_cli("zoo")
    assert code == 0
    assert "search:resnext" in out and "search:vgg" in out and "vgg_free" in out


def test_the_wheel_runs_a_search_from_an_empty_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w",
                    str(wheels)], check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("archdsl-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=600)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    # the dependencies (torch, optuna, lark, ...), not this checkout's archdsl
    Path(site.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(python), "-c", "import archdsl; print(archdsl.__file__)"],
                           cwd=empty, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv))  # the wheel's archdsl, not the checkout's
    proc = subprocess.run([str(venv / "bin" / "archdsl"), "search", "search:resnext",
                           "--trials", "5", "--objective", "flops"], cwd=empty, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "study resnext: 5 trials" in proc.stdout
    assert (empty / "runs" / "resnext" / "trials.csv").exists()
